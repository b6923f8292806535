// bench/peers/tokens.mjs: the peer of bench/bench_tokens.c: npm `paseto`
// (V4, v4.public) signing and verifying the same claims with a footer of
// the same bytes, at its fastest settings:
//   - the Ed25519 keys are KeyObjects made once (no key parsing per call);
//   - the claims go in as their bytes (a Buffer: no clone, no
//     JSON.stringify, no added `iat`), the footer as a string;
//   - verify with `buffer: true`: the payload's bytes back, not parsed, as
//     keyring_verify returns the payload's bytes;
//   - calls in batches of --batch (256) awaited together: paseto signs and
//     verifies with crypto.sign/verify and a callback, on libuv's thread
//     pool, and a batch keeps the pool busy instead of a round trip per
//     token (on one core: 8.4k/4.1k per second one at a time, 13.2k/5.1k
//     in batches of 256; 64: 12.5k/5.0k; 1,024: 12.5k/4.6k).
// First a warm-up of --warmup seconds of each (the first 0.4 s after the
// start run at 40-85 % of the later ones: the JIT, the thread pool's
// threads, the heap). Each round: --seconds of signing, then of verifying.
//
//   INVITED_BENCH_PEERS=build-bench/peers taskset -c 0 node tokens.mjs \
//       [--rounds 5] [--seconds 0.4] [--warmup 0.4] [--batch 256] [--serve 0]
//       [--claims JSON] [--footer TEXT]
//
// Prints "MINTED VERIFIED LABEL": per second, the best of --rounds, then
// what ran. With --serve 1 (as bench_tokens runs it, so that its rounds
// and the peer's alternate) it runs one round for each line read on its
// standard input and answers each with such a line, until the input ends.
import { generateKeyPairSync } from 'node:crypto';
import process from 'node:process';
import readline from 'node:readline';
import { load, options, version } from './common.mjs';

const opts = options({
	rounds: 5,
	seconds: 0.4,
	warmup: 0.4,
	batch: 256,
	serve: 0,
	claims: '{"jti":"uXyRWzG7w3CuECLAdR8QRw","pur":"indirect_provider",' +
		'"iat":"2026-11-25T00:21:18Z","exp":"2026-12-25T00:21:18Z",' +
		'"aud":"https://invite.example.com"}',
	footer: '{"kid":"k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}',
});
const { V4 } = load('paseto');

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const claims = Buffer.from(opts.claims, 'utf8');
const footer = opts.footer;
const token = await V4.sign(claims, privateKey, { footer });
const back = await V4.verify(token, publicKey, { buffer: true, complete: true });
if (!back.payload.equals(claims) || back.footer.toString('utf8') !== footer) {
	console.error('tokens.mjs: paseto gave back other claims or footer than it signed');
	process.exit(1);
}

const mint = () => V4.sign(claims, privateKey, { footer });
const check = () => V4.verify(token, publicKey, { buffer: true });

// Calls per second over `seconds`, opts.batch calls awaited together.
async function rate(fn, seconds) {
	const batch = Math.max(1, opts.batch);
	const calls = new Array(batch);
	let n = 0, t;
	const start = process.hrtime.bigint();
	do {
		for (let i = 0; i < batch; i++)
			calls[i] = fn();
		await Promise.all(calls);
		n += batch;
		t = Number(process.hrtime.bigint() - start) / 1e9;
	} while (t < seconds);
	return n / t;
}

const label = `npm ${version('paseto')}, Node ${process.version}`;
const say = (m, v) => process.stdout.write(`${m.toFixed(0)} ${v.toFixed(0)} ${label}\n`);

await rate(mint, opts.warmup);
await rate(check, opts.warmup);
if (opts.serve) {
	for await (const line of readline.createInterface({ input: process.stdin })) {
		if (line.trim() === '')
			continue;
		const m = await rate(mint, opts.seconds);
		say(m, await rate(check, opts.seconds));
	}
} else {
	let minted = 0, verified = 0;
	for (let r = 0; r < opts.rounds; r++) {
		minted = Math.max(minted, await rate(mint, opts.seconds));
		verified = Math.max(verified, await rate(check, opts.seconds));
	}
	say(minted, verified);
}
