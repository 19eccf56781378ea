// Package vm holds logpacker's VM image recipe (build.sh: make vm-image) and
// its boot test (make test-vm; not part of make test, it boots a machine).
//
// The image is Debian 12 from Debian's own packages (debootstrap minbase
// with systemd, udev, the kernel, systemd-networkd with DHCP), logpacker
// installed as the systemd units of ../../systemd describe it
// (logpacker.socket holds 514/udp and 514/tcp and passes them to
// logpacker.service, Type=notify, hardened, as the user logpacker), and
// logpacker-firstboot.service: before logpacker starts it looks for a
// NoCloud seed drive (file system label cidata) and takes from it the host
// name (meta-data's local-hostname) and /etc/logpacker (the drive's
// logpacker/ directory: server.ini, notify.ini, certificates), once per
// instance-id. cloud-init itself is not installed: this is the part of
// NoCloud a log appliance needs, in 40 lines of sh, with no Python.
//
// Outputs (bin/vm): logpacker.qcow2, one ext4 file system made with
// mkfs.ext4 -d (no loop device, no mount, so it builds in a container),
// and the kernel and initrd it boots directly:
//
//	qemu-system-x86_64 -m 1024 -kernel vmlinuz -initrd initrd.img \
//	    -append "root=/dev/vda rw console=ttyS0" \
//	    -drive file=logpacker.qcow2,if=virtio -drive file=seed.img,if=virtio,format=raw \
//	    -netdev user,id=n,hostfwd=tcp::5514-:514 -device virtio-net-pci,netdev=n
//
// There is no boot loader in the image: a platform that boots disks by
// themselves needs one added (grub-install on a partitioned copy).
//
// TestVMIntegration (LOGPACKER_VM_TEST=1, which make test-vm sets) boots
// the image under qemu (software emulation; LOGPACKER_VM_ACCEL=kvm for KVM)
// with a seed drive, and checks that the first-boot unit applied it, that
// systemd reported logpacker.service started (for a Type=notify unit: after
// READY=1), that /healthz and /readyz answer through the forwarded port,
// and that syslog sent over TCP to port 514 (the socket unit's) is stored.
package vm
