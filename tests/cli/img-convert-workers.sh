#!/bin/sh
# convert -c on the codec workers: with any -m (and the default of one worker per core) the
# output is byte-identical to qemu-img's, `qemu-img check` clean and reads back as the source;
# with 4 KiB clusters qemu-img places some metadata elsewhere (as before the workers), and zstd
# uses a faster matcher than qemu's level 3 (compress.c), so there the output must equal the
# one-worker output instead (its size no more than 2% above qemu-img's; with zlib, igzip's
# epochs make it smaller: docs/qcow2.md, "Deflate codecs"); the source mixes
# compressible text, incompressible clusters (stored as normal clusters), zero clusters and a
# partial last cluster.
. "$SRC_DIR/tests/lib/tap.sh"

python3 - <<'PY'
import random
random.seed(7)
words = [''.join(random.choice('abcdefghij klmnopqrstuvwxyz') for _ in range(random.randint(2, 9)))
         for _ in range(3000)]
out = bytearray()
while len(out) < (24 << 20):
    out += (' '.join(random.choice(words) for _ in range(10)) + '\n').encode()
del out[24 << 20:]
out[3 << 20:(3 << 20) + (1 << 20)] = bytes(1 << 20)                 # zero clusters
out[9 << 20:(9 << 20) + (2 << 20)] = random.randbytes(2 << 20)      # incompressible
out += b'tail' * 1000                                              # a partial last cluster
open('src.raw', 'wb').write(out)
PY

for ct in zlib zstd; do
	for cs in 65536 4096; do
		qemu-img convert -c -O qcow2 -o compression_type=$ct,cluster_size=$cs src.raw q.qcow2
		if [ $cs = 65536 ] && [ $ct = zlib ]; then
			cp q.qcow2 ref.qcow2
		else
			"$IMG" convert -m 1 -c -O qcow2 -o compression_type=$ct,cluster_size=$cs src.raw ref.qcow2
		fi
		rs=$(stat -c %s ref.qcow2) qs=$(stat -c %s q.qcow2)
		# no more than 2% larger; smaller is fine (zlib, 4 KiB clusters: 24 epochs of 256, so
		# igzip deflates most of this text, about 3% smaller than qemu-img's zlib)
		[ $((rs * 100)) -le $((qs * 102)) ]
		tap_result $? "$ct, cluster $cs: size $rs no more than 2% above qemu-img's $qs"
		for m in default 1 2 16; do
			marg=""
			[ $m = default ] || marg="-m $m"
			rm -f out.qcow2
			# shellcheck disable=SC2086
			"$IMG" convert $marg -c -O qcow2 -o compression_type=$ct,cluster_size=$cs \
				src.raw out.qcow2 >err.txt 2>&1 &&
				cmp -s out.qcow2 ref.qcow2 &&
				qemu-img check -q out.qcow2 >>err.txt 2>&1 &&
				qemu-img compare -q src.raw out.qcow2 >>err.txt 2>&1
			tap_result $? "$ct, cluster $cs, -m $m: identical output, clean, reads back" ||
				{ sed 's/^/# /' err.txt; ls -l out.qcow2 ref.qcow2 | sed 's/^/# /'; }
		done
	done
done
# into an existing target (-n)
qemu-img create -q -f qcow2 big.qcow2 "$(stat -c %s src.raw)"
"$IMG" convert -n -c -m 3 -O qcow2 src.raw big.qcow2 && qemu-img check -q big.qcow2 &&
	qemu-img compare -q src.raw big.qcow2
tap_result $? "convert -n -c -m 3: clean and identical"
# into an encrypted image: the clusters are encrypted on the workers (each with its own copy
# of the cipher); every -m gives data qemu reads back identical, check clean
SEC="--object secret,id=s0,data=pw0"
for c in aes-256,xts,plain64 aes-128,cbc,essiv; do
	alg=${c%%,*}; rest=${c#*,}; mode=${rest%%,*}; iv=${rest#*,}
	for m in default 1 2 5; do
		marg=""
		[ $m = default ] || marg="-m $m"
		rm -f enc.qcow2
		# shellcheck disable=SC2086
		"$IMG" convert $marg $SEC -O qcow2 -o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10,encrypt.cipher-alg=$alg,encrypt.cipher-mode=$mode,encrypt.ivgen-alg=$iv \
			src.raw enc.qcow2 >err.txt 2>&1 &&
			qemu-img check -q $SEC --image-opts driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=s0 >>err.txt 2>&1 &&
			qemu-img compare -q $SEC --image-opts driver=raw,file.filename=src.raw \
				driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=s0 >>err.txt 2>&1
		tap_result $? "encrypted $c target, -m $m: clean, qemu reads it identical" ||
			sed 's/^/# /' err.txt
	done
done
tap_end
