// bench/peers/inbound.mjs: the peer of bench/inbound.py: npm `imapflow`
// fetching every message of a mailbox and `mailparser` parsing each, and
// nothing else (no store, no MOVE, no flags: fetch + parse alone). Its best
// settings here:
//   - plain login over the same port as invited and bench_fetch, no
//     STARTTLS (doSTARTTLS: false), no COMPRESS (disableCompression: on
//     loopback it only costs CPU), no IDLE (disableAutoIdle), logger off;
//   - the mailbox opened read-only (EXAMINE), UID SEARCH ALL, then
//     --mode stream (default): one UID FETCH (UID BODY.PEEK[]) of all the
//     found UIDs, each message handed to the parser as it arrives while the
//     next ones are read, at most --window (16) parses in flight;
//     --mode batches: UID FETCH --batch UIDs per round trip (256, as
//     invited's reader and bench_fetch batch), then the batch parsed;
//   - --parser stream (default): a MailParser per message, read as a
//     stream (the header, each text part decoded, each attachment read to
//     its end and released); --parser simple: simpleParser(), which also
//     buffers and checksums every attachment; both with skipHtmlToText,
//     skipTextToHtml, skipTextLinks and skipImageLinks (conversions that
//     nothing here reads).
//   On 10,000 of bench/inbound.py's messages the four ways (stream with 1
//   or 16 parses in flight, batches, simpleParser) were within 10 % of one
//   another, MailParser with 16 in flight a little ahead; parsing is about
//   four fifths of the time.
// The clock runs from connect() to the last parse (Node's start-up and
// loading the modules are not counted).
//
//   INVITED_BENCH_PEERS=build-bench/peers taskset -c 0 node inbound.mjs \
//       --port PORT --user USER --password PASSWORD [--host 127.0.0.1]
//       [--mailbox INBOX] [--mode stream] [--window 16] [--batch 256]
//       [--parser stream]
//
// Prints "MESSAGES BYTES SECONDS LABEL" on stdout; exits non-zero on any
// failure, or when a message parsed to no header.
import process from 'node:process';
import { load, options, version } from './common.mjs';

const opts = options({
	host: '127.0.0.1',
	port: 0,
	user: '',
	password: '',
	mailbox: 'INBOX',
	mode: 'stream',
	window: 16,
	batch: 256,
	parser: 'stream',
});
if (!opts.port || !opts.user || !['stream', 'batches'].includes(opts.mode) ||
    !['stream', 'simple'].includes(opts.parser)) {
	console.error('inbound.mjs: --port and --user are required; --mode is stream or ' +
		'batches, --parser stream or simple');
	process.exit(2);
}
const { ImapFlow } = load('imapflow');
const { MailParser, simpleParser } = load('mailparser');
const PARSE = { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true,
	skipImageLinks: true };

// MailParser as a stream: the header, then each text and attachment
// (attachments read to their end and released, as a consumer must).
// Resolves to the header's Map.
function streamParse(source) {
	return new Promise((resolve, reject) => {
		const parser = new MailParser(PARSE);
		let headers = null;
		parser.on('headers', (h) => { headers = h; });
		parser.on('data', (part) => {
			if (part.type === 'attachment') {
				part.content.on('data', () => {});
				part.content.on('end', () => part.release());
			}
		});
		parser.on('error', reject);
		parser.on('end', () => resolve(headers));
		parser.end(source);
	});
}

let parsed = 0, bytes = 0;
async function parse(source) {
	bytes += source.length;
	const headers = opts.parser === 'simple' ? (await simpleParser(source, PARSE)).headers
		: await streamParse(source);
	if (!headers || headers.size === 0)
		throw new Error(`a message of ${source.length} bytes parsed to no header`);
	parsed++;
}

const started = process.hrtime.bigint();
const client = new ImapFlow({
	host: opts.host,
	port: opts.port,
	secure: false,
	doSTARTTLS: false,
	auth: { user: opts.user, pass: opts.password },
	logger: false,
	disableCompression: true,
	disableAutoIdle: true,
});
let uids;
try {
	await client.connect();
	await client.mailboxOpen(opts.mailbox, { readOnly: true });
	uids = await client.search({ all: true }, { uid: true });
	if (uids.length > 0 && opts.mode === 'stream') {
		const inFlight = new Set();
		for await (const msg of client.fetch(uids, { uid: true, source: true }, { uid: true })) {
			const p = parse(msg.source).finally(() => inFlight.delete(p));
			inFlight.add(p);
			if (inFlight.size >= opts.window)
				await Promise.race(inFlight);
		}
		await Promise.all(inFlight);
	} else {
		for (let i = 0; i < uids.length; i += opts.batch) {
			const batch = uids.slice(i, i + opts.batch);
			const msgs = await client.fetchAll(batch, { uid: true, source: true }, { uid: true });
			for (const msg of msgs)
				await parse(msg.source);
		}
	}
	await client.logout();
} catch (e) {
	console.error(`inbound.mjs: ${e.message}${e.responseText ? ': ' + e.responseText : ''}`);
	process.exit(1);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
if (parsed !== uids.length) {
	console.error(`inbound.mjs: ${uids.length} messages found, ${parsed} parsed`);
	process.exit(1);
}
console.log(`${parsed} ${bytes} ${seconds.toFixed(3)} npm ${version('imapflow')} + ` +
	`${version('mailparser')}, Node ${process.version}`);
