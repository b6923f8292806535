// bench/peers/common.mjs: what the peer scripts share: the folder the
// peers are installed in (INVITED_BENCH_PEERS, as scripts/bench sets it:
// build-bench/peers, holding bench/peers/package.json and its
// node_modules), loading a package from there, its version, and options.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

export const peersDir = path.resolve(process.env.INVITED_BENCH_PEERS || process.cwd());
const requireFrom = createRequire(path.join(peersDir, 'package.json'));

// A package installed in peersDir (its CommonJS entry point).
export function load(name) {
	try {
		return requireFrom(name);
	} catch (e) {
		console.error(`${path.basename(process.argv[1])}: cannot load ${name} from ` +
			`${peersDir} (set INVITED_BENCH_PEERS to the folder npm installed ` +
			`bench/peers/package.json in): ${e.message}`);
		process.exit(1);
	}
}

// "name version" of a package installed in peersDir.
export function version(name) {
	const file = path.join(peersDir, 'node_modules', name, 'package.json');
	return `${name} ${JSON.parse(readFileSync(file, 'utf8')).version}`;
}

// --key value options over defaults; a number default makes a number.
export function options(defaults) {
	const opts = { ...defaults };
	const argv = process.argv.slice(2);
	for (let i = 0; i < argv.length; i += 2) {
		const key = argv[i].replace(/^--/, '');
		if (!argv[i].startsWith('--') || !(key in opts) || argv[i + 1] === undefined) {
			console.error(`${path.basename(process.argv[1])}: unknown option ${argv[i]}` +
				` (options: ${Object.keys(opts).map((k) => '--' + k).join(' ')})`);
			process.exit(2);
		}
		opts[key] = typeof defaults[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
	}
	return opts;
}
