#!/usr/bin/env bash
# Install tests: run.sh BUILD_DIR CASE. Each case installs the build into a
# temporary prefix (cmake --install --prefix) and checks what an operator
# gets there, from another folder than the build's.
set -euo pipefail
build=$1
case_=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/usr" >/dev/null
bin=$tmp/usr/bin/invited
fail() { echo "FAIL: $*" >&2; exit 1; }

case $case_ in
installed_binary_finds_its_templates)
	[ -x "$bin" ] || fail "no binary at $bin"
	v=$("$bin" --version)
	[[ $v =~ ^invited\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$v'"
	mkdir -p "$tmp/etc"
	cd /
	"$bin" -c "$tmp/etc/invited.conf" init >/dev/null
	grep -qx "templates = $tmp/usr/share/invited/templates" "$tmp/etc/invited.conf" ||
		fail "templates not from the prefix: $(grep '^templates' "$tmp/etc/invited.conf")"
	[ -f "$tmp/usr/share/invited/templates/en/mail/invitation_indirect_provider.txt" ] ||
		ls "$tmp/usr/share/invited/templates/en" >/dev/null || fail "templates not installed"
	# The installed binary renders an invitation from the installed templates.
	org=$("$bin" -c "$tmp/etc/invited.conf" org create --kind provider --name "Northwind" \
		--email p@example.test)
	"$bin" -c "$tmp/etc/invited.conf" invite create --org "$org" --kind indirect_provider \
		--email r@example.test --draft | grep -q '"status": *"draft"' ||
		fail "invite create from the installed binary"
	# State files are the owner's only.
	[ "$(stat -c %a "$tmp/etc/invited.db")" = 600 ] || fail "database is $(stat -c %a "$tmp/etc/invited.db")"
	;;
system_config_keeps_state_under_var_lib)
	# Beside /etc/invited, relative database and keys are under /var/lib/invited:
	# read (never created) through `invited config` on a copy of the layout.
	mkdir -p /etc/invited
	conf=/etc/invited/invited-install-test-$$.conf
	trap 'rm -rf "$tmp" "$conf"' EXIT
	printf '[server]\ndatabase = invited.db\nkeys = keys\n' >"$conf"
	out=$("$bin" -c "$conf" config)
	echo "$out" | grep -qx "database = /var/lib/invited/invited.db" || fail "database: $(echo "$out" | grep '^database')"
	echo "$out" | grep -qx "keys = /var/lib/invited/keys" || fail "keys: $(echo "$out" | grep '^keys')"
	;;
manual_pages_have_no_warnings)
	for page in "$tmp/usr/share/man/man8/invited.8" "$tmp/usr/share/man/man5/invited.conf.5"; do
		[ -s "$page" ] || fail "no $page"
		warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
		[ -z "$warnings" ] || fail "$page: $warnings"
	done
	# invited.conf(5) names every key of the table docs/config.md holds.
	for key in $("$bin" config --doc | awk -F'`' 'NR > 2 { print $4 }'); do
		grep -q "^\.B $key\$" "$tmp/usr/share/man/man5/invited.conf.5" || fail "no $key in invited.conf(5)"
	done
	;;
unit_passes_systemd_analyze_verify)
	unit=$tmp/usr/lib/systemd/system/invited.service
	[ -f "$unit" ] || fail "no unit"
	[ -f "$tmp/usr/lib/sysusers.d/invited.conf" ] || fail "no sysusers line"
	# The unit names the configured prefix's binary: point it at this one.
	sed "s|^ExecStart=[^ ]*/invited |ExecStart=$bin |" "$unit" >"$tmp/invited.service"
	# Documentation= is checked with man(1): the pages are in the prefix.
	out=$(MANPATH="$tmp/usr/share/man" systemd-analyze verify "$tmp/invited.service" 2>&1) ||
		fail "verify: $out"
	[ -z "$out" ] || fail "verify said: $out"
	grep -q '^ProtectSystem=strict' "$unit" && grep -q '^NoNewPrivileges=yes' "$unit" &&
		grep -q '^StateDirectory=invited' "$unit" && grep -q '^User=invited' "$unit" ||
		fail "hardening options missing"
	;;
*)
	fail "no case $case_"
	;;
esac
echo "ok $case_"
