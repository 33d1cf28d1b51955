#!/bin/sh
# The luks format against qemu-img/qemu-io 7.2, both ways, on every cipher/mode/ivgen
# combination qemu accepts: images made by each tool read identically in the other, info
# (human and JSON) is byte-identical on the same file, convert to and from luks; wrong and
# missing secrets fail as qemu's and leave the image alone; --object secret parsing.
command -v qemu-img >/dev/null 2>&1 || { echo "1..0 # SKIP qemu-img not installed"; exit 77; }
command -v qemu-io >/dev/null 2>&1 || { echo "1..0 # SKIP qemu-io not installed"; exit 77; }
: "${STRATA_IMG:?}" "${STRATA_IO:?}" "${TEST_TMPDIR:?}"
set -u
T=$TEST_TMPDIR
cd "$T" || exit 1
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }
same() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; printf '%s\n---\n%s\n' "$2" "$3" | sed 's/^/# /' | head -40; fi; }
norm() { sed -e 's/^qemu-img: /IMG: /' -e 's/^strata-img: /IMG: /' -e 's/^qemu-io: /IO: /' -e 's/^strata-io: /IO: /'; }

SEC="--object secret,id=sec0,data=pass0"
iopts() { echo "driver=luks,file.filename=$1,key-secret=sec0"; }
# qemu-img create -f luks fails now and then with "Unable to get accurate CPU usage" (its
# PBKDF2 benchmark); retried here. Ours must never fail that way: it is not retried.
qcreate() {
	for _try in 1 2 3 4 5 6 7 8; do
		qemu-img create $SEC -f luks "$@" >/dev/null 2>q.err && return 0
		grep -q "accurate CPU usage" q.err || { cat q.err; return 1; }
	done
	return 1
}

combos=""
for alg in aes-128 aes-256; do
	for mode in xts cbc ctr ecb; do
		for iv in plain plain64 essiv; do combos="$combos $alg,$mode,$iv"; done
	done
done
# qemu 7.2 aborts on aes-192 outside xts (keyslot material not sector-aligned)
for iv in plain plain64 essiv; do combos="$combos aes-192,xts,$iv"; done

# qemu-img create -f luks takes ~10 s of wall time here (its PBKDF2 benchmark), so qemu makes
# images for a few combinations; strata makes one for every combination and both tools write
# and read each.
qemu_made=" aes-256,xts,plain64 aes-128,cbc,essiv aes-192,xts,plain aes-256,ctr,plain aes-128,ecb,plain64 "
for c in $combos; do
	alg=${c%%,*}; rest=${c#*,}; mode=${rest%%,*}; iv=${rest#*,}
	o="key-secret=sec0,iter-time=10,cipher-alg=$alg,cipher-mode=$mode,ivgen-alg=$iv"
	rm -f q.luks s.luks
	case $qemu_made in *" $c "*)
		# qemu makes it, strata writes, qemu reads
		if qcreate -o "$o" q.luks 1M; then
			$STRATA_IO $SEC -c 'write -P 0x5a 4096 60k' -c 'write -P 0xa5 512 512' \
				--image-opts "$(iopts q.luks)" >/dev/null 2>&1
			qemu-io $SEC -c 'read -P 0x5a 4096 60k' -c 'read -P 0xa5 512 512' \
				--image-opts "$(iopts q.luks)" 2>&1 | grep -q -e Pattern -e "can't"
			check $((1 - $?)) "$c: qemu-made image written by strata-io reads back in qemu-io"
			same "$c: info on qemu's image" "$(qemu-img info q.luks)" "$($STRATA_IMG info q.luks)"
		else
			not_ok "$c: qemu-img create"
		fi ;;
	esac
	# strata makes it; qemu writes, strata reads and writes, qemu reads
	$STRATA_IMG create $SEC -f luks -o "$o" s.luks 1M >/dev/null 2>&1
	check $? "$c: strata-img create"
	qemu-io $SEC -c 'write -P 0x3c 0 64k' --image-opts "$(iopts s.luks)" >/dev/null 2>&1
	$STRATA_IO $SEC -c 'read -P 0x3c 0 64k' -c 'write -P 0xc3 1047552 1024' \
		--image-opts "$(iopts s.luks)" 2>&1 | grep -q -e Pattern -e "can't"
	check $((1 - $?)) "$c: qemu-io's data reads back in strata-io"
	qemu-io $SEC -c 'read -P 0x3c 0 64k' -c 'read -P 0xc3 1047552 1024' \
		--image-opts "$(iopts s.luks)" 2>&1 | grep -q -e Pattern -e "can't"
	check $((1 - $?)) "$c: strata-io's data reads back in qemu-io"
	same "$c: info json on strata's image" "$(qemu-img info --output=json s.luks)" \
		"$($STRATA_IMG info --output=json s.luks)"
done

# The PBKDF2 benchmark never fails (qemu-img's does, about 7 times in 30 here): 12 creates.
fails=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	rm -f b.luks
	$STRATA_IMG create $SEC -f luks -o key-secret=sec0,iter-time=10 b.luks 64K >/dev/null 2>&1 ||
		fails=$((fails + 1))
done
check $fails "12 creates in a row, none failed in the iteration benchmark"

# Other hashes (PBKDF2 and AF splitter) and the essiv hash.
for h in hash-alg=md5 hash-alg=sha1 hash-alg=sha224 hash-alg=sha384 hash-alg=sha512 \
	hash-alg=ripemd160 ivgen-alg=essiv,ivgen-hash-alg=md5 ivgen-alg=essiv,ivgen-hash-alg=sha256; do
	rm -f s.luks
	$STRATA_IMG create $SEC -f luks -o key-secret=sec0,iter-time=10,$h s.luks 64K >/dev/null
	qemu-io $SEC -c 'write -P 0x11 0 64k' --image-opts "$(iopts s.luks)" >/dev/null 2>&1
	$STRATA_IO $SEC -c 'read -P 0x11 0 64k' --image-opts "$(iopts s.luks)" 2>&1 |
		grep -q -e Pattern -e "can't"
	check $((1 - $?)) "$h: qemu-io's data reads back in strata-io"
	same "$h: info" "$(qemu-img info s.luks)" "$($STRATA_IMG info s.luks)"
done

# convert: raw -> luks by strata, luks -> raw by qemu, and the reverse.
qemu-img create -f raw r.raw 3M >/dev/null
qemu-io -f raw -c 'write -P 0x17 0 100k' -c 'write -P 0x71 2M 1M' r.raw >/dev/null
rm -f c.luks
$STRATA_IMG convert $SEC -f raw r.raw -O luks -o key-secret=sec0,iter-time=10 c.luks
check $? "strata-img convert raw -> luks"
qemu-img convert $SEC --image-opts "$(iopts c.luks)" -O raw back.raw
cmp -s back.raw r.raw
check $? "qemu-img reads strata's converted luks image identical to the source"
for _t in 1 2 3 4 5 6; do   # retried: qemu's PBKDF2 benchmark may fail
	rm -f q.luks
	qemu-img convert $SEC -f raw r.raw -O luks -o key-secret=sec0,iter-time=10 q.luks 2>q.err &&
		break
	grep -q "accurate CPU" q.err || break
done
$STRATA_IO $SEC -c 'read -P 0x17 0 100k' -c 'read -P 0 100k 924k' -c 'read -P 0x71 2M 1M' \
	--image-opts "$(iopts q.luks)" 2>&1 | grep -q -e Pattern -e "can't"
check $((1 - $?)) "strata-io reads qemu's converted luks image as the source"
for _t in 1 2 3 4 5 6; do   # retried: qemu's PBKDF2 benchmark may fail
	qm=$(qemu-img measure -O luks --size 1G -o key-secret=sec0 $SEC 2>&1) && break
done
same "measure -O luks" "$qm" \
	"$($STRATA_IMG measure -O luks --size 1G -o key-secret=sec0 $SEC)"
same "check on luks" "$(qemu-img check q.luks 2>&1 | norm; echo $?)" \
	"$($STRATA_IMG check q.luks 2>&1 | norm; echo $?)"

# Wrong and missing secrets: qemu's words, the image unchanged.
sum=$(md5sum < q.luks)
for t in "-c 'write 0 512' --object secret,id=sec0,data=wrong --image-opts $(iopts q.luks)" \
	"-f luks -c 'write 0 512' q.luks" \
	"--object secret,id=sec1,data=pass0 -c 'write 0 512' --image-opts $(iopts q.luks)"; do
	a=$(eval "qemu-io $t" 2>&1 | norm | sed 's/ device q.luks:/:/')
	b=$(eval "$STRATA_IO $t" 2>&1 | norm | sed 's/ device q.luks:/:/')
	same "error: $t" "$a" "$b"
done
[ "$sum" = "$(md5sum < q.luks)" ]
check $? "failed opens left the image unchanged"
for o in "key-secret=sec1" "iter-time=10" "key-secret=sec0,cipher-alg=sm4" \
	"key-secret=sec0,cipher-mode=foo" "key-secret=sec0,hash-alg=sm3" \
	"key-secret=sec0,ivgen-alg=essiv,ivgen-hash-alg=sha1"; do
	a=$(cd "$T" && qemu-img create $SEC -f luks -o "$o" e.luks 1M 2>&1 | norm; echo "$? $(ls e.luks 2>&1 | sed 's/^qemu-img/x/;s/^ls: //')")
	b=$(cd "$T" && $STRATA_IMG create $SEC -f luks -o "$o" e.luks 1M 2>&1 | norm; echo "$? $(ls e.luks 2>&1 | sed 's/^ls: //')")
	same "create -o $o" "$a" "$b"
done

# --object secret: qemu's texts for what it refuses.
printf 'pass0' > pw.txt
K=$(head -c 32 /dev/urandom | base64 -w0)
IV=$(head -c 16 /dev/urandom | base64 -w0)
CT=$(printf pass0 | openssl enc -aes-256-cbc -K "$(echo "$K" | base64 -d | od -An -tx1 | tr -d ' \n')" \
	-iv "$(echo "$IV" | base64 -d | od -An -tx1 | tr -d ' \n')" | base64 -w0)
for obj in "secret,id=s" "secret,id=s,data=a,file=pw.txt" "secret,id=s,data=@@,format=base64" \
	"secret,id=s,file=/nonexistent" "secret,data=x" "secret,id=s,data=x,keyid=k" \
	"secret,id=s,data=x,format=foo" "foo,id=x" "secret,id=s,data=x,bogus=1" "secret,id=1a,data=x" \
	"secret,id=s,data=x,loaded=on" "id=k,data=x" \
	"secret,id=k,data=$K,format=base64 --object secret,id=s,data=$CT,format=base64,keyid=k" \
	"secret,id=k,data=abc --object secret,id=s,data=$CT,format=base64,keyid=k,iv=$IV" \
	"secret,id=k,data=$K,format=base64 --object secret,id=s,data=$CT,format=base64,keyid=k,iv=AAAA" \
	"secret,id=k,data=$K,format=base64 --object secret,id=s,data=AAAA,format=base64,keyid=k,iv=$IV" \
	"secret,id=k,data=x --object secret,id=k,data=y"; do
	a=$(eval "qemu-img info --object $obj q.luks" 2>&1 | head -1 | norm)
	b=$(eval "$STRATA_IMG info --object $obj q.luks" 2>&1 | head -1 | norm)
	same "--object $obj" "$a" "$b"
done
# Secrets that work: file=, base64, and one encrypted with another (keyid, iv).
for obj in "secret,id=sec0,file=pw.txt" "secret,id=sec0,data=$(printf pass0 | base64),format=base64" \
	"secret,id=k,data=$K,format=base64 --object secret,id=sec0,data=$CT,format=base64,keyid=k,iv=$IV"; do
	eval "$STRATA_IO --object $obj -c 'read -P 0x17 0 100k' --image-opts $(iopts q.luks)" 2>&1 |
		grep -q -e Pattern -e "can't"
	check $((1 - $?)) "secret $obj unlocks"
done
echo "1..$n"
