// bench/peers/smtp.mjs: the peer of bench/smtp.py: npm `nodemailer` with
// its pooled SMTP transport sending --mails copies of one mail (--file:
// its exact bytes, CRLF line ends, as queued by invited) with the envelope
// --from / --to into the benchmark's smtp-sink, at its best settings:
//   - pool: true, maxConnections: --connections (invited's concurrency),
//     maxMessages: --max-messages (Infinity: no reconnection; invited
//     reconnects every 100, its batch_size), no rate limit;
//   - the message as `raw` (its bytes sent as they are, nothing composed)
//     with an explicit `envelope`; ignoreTLS (the sink is plain, as
//     invited's smtp.tls = none);
//   - every sendMail() called at once: the pool queues them and sends on
//     each connection as soon as it is free;
//   - TCP_NODELAY on its sockets. nodemailer has no option for it, and as
//     shipped each mail waits for the receiver's delayed ACK (Nagle's
//     algorithm holding the end of the DATA: about 43 mails/s). The pool's
//     `getSocket(options, callback)` hook (meant for proxies) hands it a
//     socket opened here with `noDelay: true`, which it uses as the
//     connection (--nodelay 0 leaves nodemailer's own socket, to compare).
// The clock runs from the transport's creation to the last mail's answer
// (Node's start-up and loading the module are not counted).
//
//   INVITED_BENCH_PEERS=build-bench/peers taskset -c 0 node smtp.mjs \
//       --port PORT --file MAIL --from FROM --to TO [--mails 10000]
//       [--connections 2] [--max-messages Infinity] [--nodelay 1]
//
// Prints "SENT SECONDS LABEL" on stdout; exits non-zero unless every mail
// was accepted by the server for its one recipient.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { load, options, version } from './common.mjs';

const opts = options({
	host: '127.0.0.1',
	port: 0,
	file: '',
	from: '',
	to: '',
	mails: 10000,
	connections: 2,
	'max-messages': Infinity,
	nodelay: 1,
});
if (!opts.port || !opts.file || !opts.from || !opts.to) {
	console.error('smtp.mjs: --port, --file, --from and --to are required');
	process.exit(2);
}
const nodemailer = load('nodemailer');
const raw = readFileSync(opts.file);
const envelope = { from: opts.from, to: [opts.to] };

// A connected socket with TCP_NODELAY, for the pool to talk SMTP over.
function getSocket(socketOptions, callback) {
	const socket = net.connect({ host: socketOptions.host, port: socketOptions.port,
		noDelay: true });
	const failed = (err) => callback(err);
	socket.once('error', failed);
	socket.once('connect', () => {
		socket.removeListener('error', failed);
		socket.setNoDelay(true);
		callback(null, { connection: socket });
	});
}

const started = process.hrtime.bigint();
const transport = nodemailer.createTransport({
	pool: true,
	host: opts.host,
	port: opts.port,
	secure: false,
	ignoreTLS: true,
	maxConnections: opts.connections,
	maxMessages: opts['max-messages'],
	...(opts.nodelay ? { getSocket } : {}),
});
const sends = [];
for (let i = 0; i < opts.mails; i++)
	sends.push(transport.sendMail({ envelope, raw }));
let sent = 0;
try {
	for (const info of await Promise.all(sends)) {
		if (info.accepted.length !== 1 || info.rejected.length !== 0) {
			console.error(`smtp.mjs: a mail was not accepted: ${JSON.stringify(info)}`);
			process.exit(1);
		}
		sent++;
	}
} catch (e) {
	console.error(`smtp.mjs: ${e.message}`);
	process.exit(1);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
transport.close();
console.log(`${sent} ${seconds.toFixed(3)} npm ${version('nodemailer')} pooled, ` +
	`${opts.nodelay ? 'TCP_NODELAY' : 'as shipped'}, Node ${process.version}`);
