// paseto_verify.mjs: verify a v4.public token with panva's `paseto`, an
// implementation independent of ours. Reads {"token", "key" (PASERK
// k4.public), "audience"?, "ignoreExp"?} as JSON on stdin; prints the
// claims and footer as JSON, or the error on stderr with exit status 1.
import paseto from 'paseto';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));

const prefix = 'k4.public.';
if (!input.key.startsWith(prefix)) {
  console.error('key must be a PASERK k4.public string');
  process.exit(1);
}
const raw = Buffer.from(input.key.slice(prefix.length), 'base64url');
try {
  const key = paseto.V4.bytesToKeyObject(raw);
  const options = { complete: true, ignoreExp: Boolean(input.ignoreExp) };
  if (input.audience) options.audience = input.audience;
  const { payload, footer } = await paseto.V4.verify(input.token, key, options);
  process.stdout.write(JSON.stringify({ claims: payload, footer: footer ? footer.toString() : null }));
} catch (err) {
  console.error(`${err.code || 'ERROR'}: ${err.message}`);
  process.exit(1);
}
