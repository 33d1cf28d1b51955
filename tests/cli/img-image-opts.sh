#!/bin/sh
# --image-opts and json: file names, side by side with qemu-img/qemu-io 7.2: the same output,
# errors and exit codes for every sub-command that takes them, nested keys (file.*, backing.*,
# cache.*, encrypt.*), qemu's JSON parse errors, and json: backing names stored in images.
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 base.qcow2 1M
qemu-io -f qcow2 -c 'write -P 7 0 192k' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c 'write -P 9 64k 64k' top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 flat.raw

IO_T='driver=qcow2,file.filename=top.qcow2'
J_T='json:{"driver":"qcow2","file":{"driver":"file","filename":"top.qcow2"}}'

# --- read-only sub-commands with --image-opts and json: ----------------------------------------
compare_img "info --image-opts" info --image-opts "$IO_T"
compare_img "info json:" info "$J_T"
compare_img "info json: --output=json" info --output=json "$J_T"
compare_img "info --backing-chain --image-opts" info --backing-chain --image-opts "$IO_T"
compare_img "info with a strong option shows qemu's json: name" info \
	--image-opts driver=qcow2,file.filename=base.qcow2,encrypt.key-secret=sec0
compare_img "info json: with cache and locking" info \
	'json:{"driver":"qcow2","file":{"filename":"base.qcow2","locking":"off"},"cache":{"direct":false,"no-flush":true}}'
compare_img "check --image-opts" check --image-opts "$IO_T"
compare_img "check --image-opts with backing.*" check --image-opts \
	"$IO_T,backing.driver=qcow2,backing.file.filename=base.qcow2"
compare_img "map --image-opts" map --image-opts "$IO_T"
compare_img "map json: --output=json" map --output=json "$J_T"
compare_img "map with backing.* (the backing layer named by options)" map --output=json \
	--image-opts "$IO_T,backing.driver=qcow2,backing.file.filename=base.qcow2"
compare_img "measure --image-opts" measure -O qcow2 --image-opts "$IO_T"
compare_img "compare --image-opts" compare --image-opts "$IO_T" driver=raw,file.filename=flat.raw
compare_img "compare json: with a plain name" compare "$J_T" flat.raw
compare_img "snapshot -l --image-opts" snapshot -l --image-opts "$IO_T"
MASK='s/[0-9.]* seconds/T seconds/' compare_img "bench --image-opts" bench -c 10 -q \
	--image-opts "$IO_T"

# --- errors -------------------------------------------------------------------------------------
compare_img "unknown option" info --image-opts "$IO_T,foo=bar"
compare_img "unknown file option" info --image-opts "$IO_T,file.bogus=1"
compare_img "unknown driver" info --image-opts driver=nope,file.filename=top.qcow2
compare_img "wrong driver" info --image-opts driver=vmdk,file.filename=top.qcow2
compare_img "file as a node name" info --image-opts top.qcow2
compare_img "no file" info 'json:{"driver":"qcow2"}'
compare_img "neither driver nor file" info 'json:{"a":1}'
compare_img "-f with --image-opts" info -f qcow2 --image-opts "$IO_T"
compare_img "backing.* where qemu-img opens no backing" info --image-opts "$IO_T,backing.driver=qcow2"
compare_img "bad boolean" info --image-opts "$IO_T,cache.direct=maybe"
compare_img "aio=native without cache.direct" info --image-opts "$IO_T,file.aio=native"
compare_img "missing file" info --image-opts driver=qcow2,file.filename=nofile.qcow2
compare_img "--target-image-opts without -n" convert --target-image-opts -O raw top.qcow2 \
	driver=raw,file.filename=x.raw
compare_img "convert -m out of range" convert -m 17 top.qcow2 x.raw
for j in '{"driver":"qcow2",' '[1]' '"str"' '' ' ' '{"a" 1}' '{1:2}' '{"a":1,}' '{"a":1 "b":2}' \
	 '{"a":x}' '{"a":tru}' '{"a":[1,}' '{"a":"\q"}' '{"a":1}}' '{"a":01}' \
	 '{"driver":"qcow2","driver":"raw"}' '{"a":"\u00e9","b":-1.5e3,"c":null,"d":[true,{}]}' \
	 "{'driver':'qcow2','file':{'filename':'top.qcow2'}}" '{"driver":"qcow2","file":"top.qcow2"}'; do
	compare_img "json:$j" info "json:$j"
done

# --- writing sub-commands: the same result as qemu-img on twin images --------------------------
twin() {
	rm -rf ours ref
	mkdir ours ref
	for d in ours ref; do
		cp base.qcow2 top.qcow2 flat.raw "$d"/
	done
}
# run_twin NAME ARGS...: strata-img in ours/, qemu-img in ref/; output, status, then the images.
run_twin() {
	name=$1
	shift
	(cd ours && "$IMG" "$@" >../o.out 2>../o.err; echo "rc=$?" >>../o.out)
	(cd ref && qemu-img "$@" >../r.out 2>../r.err; echo "rc=$?" >>../r.out)
	normalize r.err >r.e
	for d in ours ref; do
		(cd $d && for f in top.qcow2 base.qcow2 flat.raw $(ls out.* 2>/dev/null); do
			qemu-img info -U "$f" | grep -v '^disk size' | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/DATE/g'
			qemu-img snapshot -U -l "$f" | awk '{print $2}'
			qemu-img check -U "$f" 2>&1 | grep -v 'Image end offset'
			qemu-img convert -U -O raw "$f" "$f.cmp.raw" && md5sum "$f.cmp.raw"
		done) >"$d.state" 2>&1
	done
	if cmp -s o.out r.out && cmp -s o.err r.e && cmp -s ours.state ref.state; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | head -n 10 | sed 's/^/# /'
		diff o.err r.e | head -n 10 | sed 's/^/# /'
		diff ours.state ref.state | head -n 10 | sed 's/^/# /'
	fi
}
twin; run_twin "resize --image-opts" resize --image-opts "$IO_T" 2M
twin; run_twin "resize json:" resize "$J_T" +1M
twin; run_twin "snapshot -c --image-opts" snapshot -c s1 --image-opts "$IO_T"
twin; run_twin "amend --image-opts" amend -o lazy_refcounts=on --image-opts "$IO_T"
twin; run_twin "rebase -u --image-opts" rebase -u -b '' --image-opts "$IO_T"
twin; run_twin "rebase --image-opts" rebase -F raw -b flat.raw --image-opts "$IO_T"
twin; run_twin "commit --image-opts" commit --image-opts "$IO_T"
twin; run_twin "convert --image-opts -n --target-image-opts" convert -n --image-opts \
	--target-image-opts "$IO_T" driver=raw,file.filename=flat.raw
twin; run_twin "convert json: sources" convert -O qcow2 "$J_T" 'json:{"driver":"raw","file":{"filename":"flat.raw"}}' out.qcow2
twin; run_twin "dd --image-opts" dd --image-opts -O raw bs=64k count=2 "if=$IO_T" of=flat.raw

# --- json: backing names stored in images -------------------------------------------------------
twin; run_twin "create -b json: -F" create -f qcow2 -F qcow2 \
	-b 'json:{"driver":"qcow2","file":{"driver":"file","filename":"base.qcow2"}}' out.qcow2
twin; run_twin "create -b json: without -F" create -f qcow2 \
	-b 'json:{"driver":"qcow2","file":{"driver":"file","filename":"base.qcow2"}}' out.qcow2
qemu-img create -q -f qcow2 -F qcow2 \
	-b 'json:{"driver":"qcow2","file":{"driver":"file","filename":"base.qcow2"}}' jtop.qcow2
qemu-io -f qcow2 -c 'write -P 5 128k 4k' jtop.qcow2 >/dev/null
compare_img "info of an image with a json: backing name" info --backing-chain jtop.qcow2
compare_img "map through a json: backing file" map --output=json jtop.qcow2
"$IO" -c 'read -P 7 0 64k' -c 'read -P 5 128k 4k' -c 'read -P 7 132k 60k' jtop.qcow2 >io.out 2>&1
tap_result $? "strata-io reads through a json: backing file" || sed 's/^/# /' io.out

# --- strata-io -----------------------------------------------------------------------------------
compare_io() {
	name=$1
	shift
	"$IO" "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	qemu-io "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	normalize r.err >r.e
	sed -i -e 's/ops; .*/ops/' o.out r.out
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | head -n 10 | sed 's/^/# /'
		diff o.err r.e | head -n 10 | sed 's/^/# /'
	fi
}
compare_io "qemu-io --image-opts" --image-opts -c 'read -P 9 64k 64k' -c 'read -P 7 0 64k' "$IO_T"
compare_io "qemu-io --image-opts, unknown option" --image-opts -c 'read 0 512' "$IO_T,foo=1"
compare_io "qemu-io json:" -c 'read -P 9 64k 64k' "$J_T"
compare_io "qemu-io open -o, options only" -c "open -o $IO_T" -c 'read -P 9 64k 64k'
compare_io "qemu-io open -o driver= with a file" -c 'open -o driver=qcow2 top.qcow2' \
	-c 'read -P 9 64k 64k'
compare_io "qemu-io open -o, unknown option" -c 'open -o foo=bar top.qcow2'
compare_io "qemu-io open json:" -c "open $J_T" -c 'read -P 7 0 64k'
qemu-img create -q -f qcow2 -o data_file=d.raw d.qcow2 1M
qemu-io -f qcow2 -c 'write -P 3 0 64k' d.qcow2 >/dev/null
cp d.raw d2.raw
qemu-io -f raw -c 'write -P 4 0 64k' d2.raw >/dev/null
compare_io "data-file.filename names another data file" --image-opts -c 'read -P 4 0 64k' \
	driver=qcow2,file.filename=d.qcow2,data-file.filename=d2.raw
compare_io "without it the stored data file" --image-opts -c 'read -P 3 0 64k' \
	driver=qcow2,file.filename=d.qcow2

# --- strata-vm -drive takes the same nested keys (errors side by side; no guest is started) ----
VM=${STRATA_VM:-$SRC_DIR/build/rel/strata-vm}
compare_vm() {
	name=$1
	shift
	timeout 60 "$VM" -M virt -nographic "$@" >o.out 2>&1; echo "rc=$?" >>o.out
	timeout 60 qemu-system-riscv64 -M virt -nographic "$@" >r.out 2>&1; echo "rc=$?" >>r.out
	sed -i -e 's/^qemu-system-riscv64:/strata-vm:/' r.out
	if cmp -s o.out r.out; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | head -n 10 | sed 's/^/# /'
	fi
}
if [ -x "$VM" ] && command -v qemu-system-riscv64 >/dev/null 2>&1; then
	compare_vm "-drive file.filename of a missing file" \
		-drive driver=qcow2,file.filename=nofile.qcow2,if=virtio
	compare_vm "-drive with an unknown nested option" \
		-drive driver=qcow2,file.filename=top.qcow2,if=virtio,foo.bar=1
	compare_vm "-drive with a bad file option" \
		-drive driver=qcow2,file.filename=top.qcow2,file.bogus=1,if=virtio
	compare_vm "-drive json: file name of a missing file" \
		-drive 'file=json:{"driver":"qcow2",,"file":{"filename":"nofile.qcow2"}},if=virtio'
else
	echo "ok $((tap_n + 1)) - strata-vm -drive # SKIP strata-vm or qemu-system-riscv64 missing"
	tap_n=$((tap_n + 1))
fi
tap_end
