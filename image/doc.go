// Package image holds the recipes of logpacker as shipped, and their tests:
//
//   - Dockerfile, build.sh, server.ini: the container image (make image).
//     FROM scratch: the static binary as /usr/bin/logpacker, the host's CA
//     bundle (outputs over https), /etc/passwd and /etc/group with the user
//     logpacker (uid and gid 514; the node never runs as root), this
//     server.ini as /etc/logpacker/server.ini (data in /var/lib/logpacker, a
//     volume; syslog on 5514 UDP and TCP; the API on loopback), the ports
//     declared, and a HEALTHCHECK that runs `logpacker health` (GET /readyz:
//     healthy once the WAL is open and every listener bound). No image is
//     pulled: the build context is assembled by build.sh and nothing in it
//     comes from a registry.
//
//   - fleet_test.go: TestFleetIntegration builds the image and runs a fleet
//     of it on a private Docker network it creates: two roots in a gossip
//     cluster, a relay, two leaves. Syslog goes into the leaves, the relay
//     container is SIGKILLed and started again, a root is cut off the
//     network and connected again, and at the end every event sent is in
//     the roots' file outputs exactly once (per root, and once by sequence
//     number across the fleet: one ID per event; the same ID may be kept by
//     both roots when a batch a root stored was resent to the other because
//     its ACK was lost with the network, which storage keyed on the ID
//     absorbs). It removes the containers, their volumes, the network and
//     the image it made. Without Docker it skips, and `make test` prints a
//     warning banner.
//
// The systemd units and the VM image build on the same binary; see
// ../systemd.
package image
