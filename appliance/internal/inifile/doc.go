// Package inifile reads the node's INI files (server.ini, notify.ini) the
// one way: gopkg.in/ini.v1 for the values, plus a scan of the text that
// remembers the line of every section and key (errors name them) and refuses
// what ini.v1 would silently accept (a repeated section or key keeps only
// the last; a line that is not "key = value").
package inifile
