#!/usr/bin/env bash
# The Debian package: deb.sh SOURCE_DIR BUILD_DIR CASE.
#   build    dpkg-buildpackage -us -uc -b on a copy of the source (no build
#            folders, no node_modules), the .deb left in BUILD_DIR/deb/
#   lintian  lintian on that .deb: no error, no warning (notes are printed)
#   contents what it installs: the server, templates, unit, sysusers line,
#            both manual pages; the packaged binary, unpacked into a temporary
#            root, initialises and checks a configuration from another folder
set -euo pipefail
src=$1
out=$2/deb
case_=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

case $case_ in
build)
	rm -rf "$out"
	mkdir -p "$out/src/invited"
	tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./demo \
		--exclude=node_modules --exclude=.git --exclude=__pycache__ -cf - . |
		tar -x -C "$out/src/invited"
	cd "$out/src/invited"
	DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" dpkg-buildpackage -us -uc -b \
		>"$out/build.log" 2>&1 || { tail -50 "$out/build.log"; fail "dpkg-buildpackage"; }
	mv "$out"/src/invited_*.deb "$out/"
	ls "$out"/invited_*.deb
	;;
lintian)
	deb=$(ls "$out"/invited_*.deb)
	# Errors and warnings fail the case; notes (I:) are shown.
	lintian --fail-on error,warning --display-info --tag-display-limit 0 "$deb" ||
		fail "lintian reports errors or warnings on $(basename "$deb")"
	;;
contents)
	deb=$(ls "$out"/invited_*.deb)
	files=$(dpkg-deb -c "$deb" | awk '{ print $NF }')
	for want in ./usr/bin/invited ./usr/share/invited/templates/en/mail/ \
		./usr/share/man/man8/invited.8.gz ./usr/share/man/man5/invited.conf.5.gz \
		./lib/systemd/system/invited.service ./usr/lib/sysusers.d/invited.conf; do
		echo "$files" | grep -q -- "$want" || fail "$want is not in the package"
	done
	dpkg-deb -f "$deb" Depends | grep -q libesmtp || fail "no shared-library Depends"
	# Installing makes the service's user and tells systemd of the unit;
	# purging takes the unit's state away (debhelper's scripts).
	ctl=$(mktemp -d)
	dpkg-deb -e "$deb" "$ctl"
	grep -q 'systemd-sysusers' "$ctl/postinst" || fail "postinst does not make the user"
	grep -q 'deb-systemd-helper' "$ctl/postinst" || fail "postinst does not register the unit"
	grep -q 'deb-systemd-helper purge' "$ctl/postrm" || fail "postrm does not purge the unit"
	rm -rf "$ctl"
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	dpkg-deb -x "$deb" "$root"
	bin=$root/usr/bin/invited
	[ "$("$bin" --version)" = "invited $(dpkg-deb -f "$deb" Version)" ] ||
		fail "--version says $("$bin" --version), the package $(dpkg-deb -f "$deb" Version)"
	mkdir "$root/etc"
	cd /
	"$bin" -c "$root/etc/invited.conf" init >/dev/null
	grep -qx "templates = $root/usr/share/invited/templates" "$root/etc/invited.conf" ||
		fail "the packaged binary does not find its templates: $(grep '^templates' "$root/etc/invited.conf")"
	"$bin" -c "$root/etc/invited.conf" config check | grep -qx ok ||
		fail "config check: $("$bin" -c "$root/etc/invited.conf" config check)"
	unit=$(find "$root" -name invited.service)
	grep -qx 'ExecStart=/usr/bin/invited -c /etc/invited/invited.conf serve' "$unit" ||
		fail "unit: $(grep ExecStart "$unit")"
	;;
*)
	fail "unknown case $case_"
	;;
esac
