// paseto_sign.mjs: make tokens outside the server, with panva's `paseto`.
// stdin JSON: {"op": "generate"} -> {"secret": "k4.secret..."}
//             {"op": "sign", "secret", "payload", "footer"} -> {"token"}
import crypto from 'node:crypto';
import paseto from 'paseto';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));

if (input.op === 'generate') {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const secret = `k4.secret.${Buffer.concat([seed, pub]).toString('base64url')}`;
  process.stdout.write(JSON.stringify({ secret }));
} else if (input.op === 'sign') {
  const raw = Buffer.from(input.secret.slice('k4.secret.'.length), 'base64url');
  const key = paseto.V4.bytesToKeyObject(raw);
  const token = await paseto.V4.sign(input.payload, key, { footer: input.footer, iat: false });
  process.stdout.write(JSON.stringify({ token }));
} else {
  console.error('op must be generate or sign');
  process.exit(1);
}
