// Command logpacker is the one binary every logpacker node runs.
//
//	logpacker run [-c server.ini]     run a node (embedded defaults without -c)
//	logpacker check [-c server.ini]   validate a configuration and print it
//	logpacker parse [flags]           read syslog from stdin, print JSON events
//	logpacker wal verify DIR          check every WAL record (CRC, framing, order)
//	logpacker wal dump DIR            print every WAL record as a JSON event
//	logpacker defaults                print the embedded server.ini
//	logpacker version
package main
