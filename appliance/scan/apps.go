package scan

import "regexp"

// App is one known piece of software: where its logs live on Debian,
// Ubuntu and RHEL-like systems (globs relative to the root) and what its
// lines look like (sniffers), each with the format that parses it.
type App struct {
	Name  string
	Files []Rule  // by path
	Sniff []Sniff // by content
}

// Rule says that files matching Glob (relative to the root, no leading
// "/") are this app's logs in Format.
type Rule struct {
	Glob   string
	Format string
}

// Sniff says that a line matching Re is this app's, in Format.
type Sniff struct {
	Re     *regexp.Regexp
	Format string
}

// accessSniff is an NCSA common/combined log line (nginx, Apache: the
// path tells which; by content alone, nginx).
const accessSniff = `^\S+ \S+ \S+ \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "[A-Z]+ \S+ [^"]*" \d{3} `

func r(glob, format string) Rule { return Rule{glob, format} }

func sn(re, format string) Sniff { return Sniff{regexp.MustCompile(re), format} }

// Apps is the table, in the order ties are decided (a more specific app
// before a general one: MariaDB before MySQL, the mail servers before
// syslog).
var Apps = []App{
	{Name: "mariadb", Files: []Rule{r("var/log/mariadb/*.log", "mysql"), r("var/log/mysql/mariadb.log", "mysql")},
		Sniff: []Sniff{sn(`(?i)\bmariadb(d)?\b.*(\[Note\]|ready for connections|Version)|\[Note\] .*mariadbd`, "mysql")}},
	{Name: "mysql", Files: []Rule{r("var/log/mysql/error.log", "mysql"), r("var/log/mysql/mysqld.log", "mysql"), r("var/log/mysqld.log", "mysql"),
		r("var/log/mysql.err", "mysql"), r("var/log/mysql.log", "mysql"), r("var/lib/mysql/*.err", "mysql")},
		Sniff: []Sniff{sn(`^\d{4}-\d{2}-\d{2}T[\d:.]+Z \d+ \[(Note|Warning|ERROR|System)\] \[MY-\d+\]`, "mysql"), sn(`\[(Note|Warning|ERROR)\] .*mysqld`, "mysql")}},
	{Name: "postgresql", Files: []Rule{r("var/log/postgresql/*.log", "postgresql"), r("var/lib/pgsql/data/log/*.log", "postgresql"),
		r("var/lib/pgsql/*/data/log/*.log", "postgresql"), r("var/lib/postgresql/*/main/log/*.log", "postgresql")},
		Sniff: []Sniff{sn(`^\d{4}-\d{2}-\d{2} [\d:.]+ \w+ \[\d+\].*(LOG|ERROR|FATAL|WARNING|STATEMENT):  `, "postgresql")}},
	{Name: "mongodb", Files: []Rule{r("var/log/mongodb/*.log", "mongodb")},
		Sniff: []Sniff{sn(`^\{"t":\{"\$date":`, "mongodb"), sn(`^\d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{4} [FEWID]\d? +[A-Z]+ +\[`, "mongodb")}},
	{Name: "cassandra", Files: []Rule{r("var/log/cassandra/system.log", "cassandra"), r("var/log/cassandra/debug.log", "cassandra"), r("opt/cassandra/logs/system.log", "cassandra")},
		Sniff: []Sniff{sn(`^(INFO|WARN|ERROR|DEBUG) +\[[^\]]+\] \d{4}-\d{2}-\d{2} [\d:,]+ .*\.java`, "cassandra")}},
	{Name: "hbase", Files: []Rule{r("var/log/hbase/*.log", "log4j"), r("opt/hbase/logs/*.log", "log4j")},
		Sniff: []Sniff{sn(`org\.apache\.hadoop\.hbase|\bhbase\.`, "log4j")}},
	{Name: "hadoop", Files: []Rule{r("var/log/hadoop/*.log", "log4j"), r("var/log/hadoop/*/*.log", "log4j"), r("var/log/hadoop-hdfs/*.log", "log4j"),
		r("var/log/hadoop-yarn/*.log", "log4j"), r("opt/hadoop/logs/*.log", "log4j")},
		Sniff: []Sniff{sn(`org\.apache\.hadoop\.(hdfs|yarn|mapred|util|http)`, "log4j")}},
	{Name: "oracle", Files: []Rule{r("u01/app/oracle/diag/rdbms/*/*/trace/alert_*.log", "oracle"), r("opt/oracle/diag/rdbms/*/*/trace/alert_*.log", "oracle")},
		Sniff: []Sniff{sn(`^(Starting ORACLE instance|ORA-\d{5}|Completed: ALTER DATABASE)`, "oracle")}},
	{Name: "voltdb", Files: []Rule{r("opt/voltdb/*/log/volt.log", "log4j"), r("var/log/voltdb/*.log", "log4j"), r("opt/voltdb/voltdbroot/log/volt.log", "log4j")},
		Sniff: []Sniff{sn(`(?i)\bvoltdb\b|org\.voltdb`, "log4j")}},
	{Name: "rabbitmq", Files: []Rule{r("var/log/rabbitmq/*.log", "log4j")},
		Sniff: []Sniff{sn(`^\d{4}-\d{2}-\d{2} [\d:.]+[+-]\d{2}:\d{2} \[\w+\] <\d+\.\d+\.\d+>`, "log4j")}},
	{Name: "redis", Files: []Rule{r("var/log/redis/*.log", "redis"), r("var/log/redis*.log", "redis")},
		Sniff: []Sniff{sn(`^\d+:[XCSM] \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} [.\-*#] `, "redis")}},
	{Name: "memcached", Files: []Rule{r("var/log/memcached.log", "raw"), r("var/log/memcached/*.log", "raw")},
		Sniff: []Sniff{sn(`^<\d+ (new (auto-negotiating )?client connection|server listening)|^slab class +\d+:`, "raw")}},
	{Name: "solr", Files: []Rule{r("var/solr/logs/solr.log", "log4j"), r("opt/solr/server/logs/solr.log", "log4j"), r("var/log/solr/*.log", "log4j")},
		Sniff: []Sniff{sn(`\bo\.a\.s\.[a-z]|org\.apache\.solr`, "log4j")}},
	{Name: "elasticsearch", Files: []Rule{r("var/log/elasticsearch/*.log", "elasticsearch"), r("var/log/elasticsearch/*.json", "elasticsearch")},
		Sniff: []Sniff{sn(`^\[\d{4}-\d{2}-\d{2}T[\d:,]+\]\[(INFO|WARN|ERROR|DEBUG) ?\]\[o\.e\.`, "elasticsearch"), sn(`"ecs.version".*"log.level".*org\.elasticsearch|"service.name":"ES_ECS"`, "elasticsearch")}},
	{Name: "sphinx", Files: []Rule{r("var/log/sphinxsearch/*.log", "sphinx"), r("var/log/sphinx/*.log", "sphinx"), r("var/log/manticore/*.log", "sphinx")},
		Sniff: []Sniff{sn(`^\[\w{3} \w{3} +\d+ [\d:.]+ \d{4}\] \[ *\d+\] `, "sphinx")}},
	{Name: "aerospike", Files: []Rule{r("var/log/aerospike/*.log", "aerospike")},
		Sniff: []Sniff{sn(`^\w{3} \d{2} \d{4} [\d:.]+ GMT: \w+ \(\w+\): `, "aerospike")}},
	{Name: "docker", Files: []Rule{r("var/lib/docker/containers/*/*-json.log", "docker")},
		Sniff: []Sniff{sn(`^\{"log":".*","stream":"(stdout|stderr)","time":"`, "docker")}},
	{Name: "gitlab", Files: []Rule{r("var/log/gitlab/*/*.log", "json"), r("var/log/gitlab/*/current", "raw")},
		Sniff: []Sniff{sn(`"correlation_id":.*"(severity|level)":|"(severity|level)":.*"correlation_id":`, "json")}},
	{Name: "sendmail", Files: nil, // shares mail.log with postfix: told apart by content
		Sniff: []Sniff{sn(`^\w{3} [ \d]\d [\d:]+ \S+ sendmail\[\d+\]: `, "syslog"), sn(`^\S+ \S+ sendmail\[\d+\]: `, "syslog")}},
	{Name: "postfix", Files: []Rule{r("var/log/mail.log", "syslog"), r("var/log/maillog", "syslog"), r("var/log/mail.err", "syslog")},
		Sniff: []Sniff{sn(`^\w{3} [ \d]\d [\d:]+ \S+ postfix/[\w/-]+\[\d+\]: `, "syslog"), sn(`^\S+ \S+ postfix/[\w/-]+\[\d+\]: `, "syslog")}},
	{Name: "exim", Files: []Rule{r("var/log/exim4/mainlog", "exim"), r("var/log/exim4/rejectlog", "exim"), r("var/log/exim4/paniclog", "exim"), r("var/log/exim/*.log", "exim")},
		Sniff: []Sniff{sn(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} (\[\d+\] )?\w{6}-\w{6}-\w{2} (<=|=>|->|\*\*|==|Completed)`, "exim"), sn(`^\d{4}-\d{2}-\d{2} [\d:]+ (\[\d+\] )?exim [\d.]+ daemon started`, "exim")}},
	{Name: "haproxy", Files: []Rule{r("var/log/haproxy.log", "syslog"), r("var/log/haproxy/*.log", "syslog")},
		Sniff: []Sniff{sn(`^\w{3} [ \d]\d [\d:]+ \S+ haproxy\[\d+\]: `, "syslog"), sn(`^\S+ \S+ haproxy\[\d+\]: `, "syslog")}},
	{Name: "supervisor", Files: []Rule{r("var/log/supervisor/supervisord.log", "log4j"), r("var/log/supervisord.log", "log4j")},
		Sniff: []Sniff{sn(`^\d{4}-\d{2}-\d{2} [\d:,]+ (INFO|WARN|CRIT|ERRO|DEBG|TRAC|BLAT) (spawned|success|exited|supervisord started|gave up)`, "log4j")}},
	{Name: "zabbix", Files: []Rule{r("var/log/zabbix/*.log", "zabbix"), r("var/log/zabbix-agent/*.log", "zabbix"), r("var/log/zabbix-server/*.log", "zabbix")},
		Sniff: []Sniff{sn(`^ *\d+:\d{8}:\d{6}\.\d{3} `, "zabbix")}},
	{Name: "jira", Files: []Rule{r("var/atlassian/application-data/jira/log/atlassian-jira.log", "log4j"), r("opt/atlassian/jira/logs/*.log", "log4j")},
		Sniff: []Sniff{sn(`com\.atlassian\.jira|\[c\.a\.jira\.`, "log4j")}},
	{Name: "jenkins", Files: []Rule{r("var/log/jenkins/jenkins.log", "log4j")},
		Sniff: []Sniff{sn(`\[id=\d+\]\s+(INFO|WARNING|SEVERE)\s+(hudson|jenkins)\.`, "log4j")}},
	{Name: "teamcity", Files: []Rule{r("opt/teamcity/logs/*.log", "log4j"), r("opt/TeamCity/logs/*.log", "log4j")},
		Sniff: []Sniff{sn(`jetbrains\.buildServer|TeamCity`, "log4j")}},
	{Name: "pm2", Files: []Rule{r("root/.pm2/logs/*.log", "raw"), r("home/*/.pm2/logs/*.log", "raw"), r("root/.pm2/pm2.log", "raw"), r("home/*/.pm2/pm2.log", "raw")},
		Sniff: []Sniff{sn(`^\d{4}-\d{2}-\d{2}T[\d:]+: PM2 log: `, "raw")}},
	{Name: "nginx", Files: []Rule{r("var/log/nginx/access.log", "access"), r("var/log/nginx/*access*.log", "access"), r("var/log/nginx/error.log", "nginx_error"),
		r("var/log/nginx/*error*.log", "nginx_error")},
		Sniff: []Sniff{sn(`^\d{4}/\d{2}/\d{2} [\d:]+ \[\w+\] \d+#\d+: `, "nginx_error"), sn(accessSniff, "access")}},
	{Name: "apache", Files: []Rule{r("var/log/apache2/*access*.log", "access"), r("var/log/httpd/*access_log", "access"), r("var/log/apache2/*error*.log", "apache_error"),
		r("var/log/httpd/*error_log", "apache_error")},
		Sniff: []Sniff{sn(`^\[\w{3} \w{3} \d{2} [\d:.]+ \d{4}\] \[(\w+:)?\w+\] \[pid \d+`, "apache_error"), sn(accessSniff, "access")}},
	{Name: "tomcat", Files: []Rule{r("var/log/tomcat*/catalina.out", "log4j"), r("var/log/tomcat*/catalina.*.log", "log4j"), r("opt/tomcat/logs/catalina.out", "log4j"),
		r("var/log/tomcat*/localhost_access_log*.txt", "access")},
		Sniff: []Sniff{sn(`^\d{2}-\w{3}-\d{4} [\d:.]+ (INFO|WARNING|SEVERE) \[[^\]]+\] org\.apache\.(catalina|coyote)`, "log4j")}},
	{Name: "puppet", Files: []Rule{r("var/log/puppetlabs/puppet/*.log", "log4j"), r("var/log/puppet/*.log", "log4j"), r("var/log/puppetlabs/puppetserver/puppetserver.log", "log4j")},
		Sniff: []Sniff{sn(`^\d{4}-\d{2}-\d{2} [\d:]+ [+-]\d{4} Puppet \(\w+\): |puppetlabs\.`, "log4j")}},
	{Name: "chef", Files: []Rule{r("var/log/chef/client.log", "log4j"), r("var/log/chef-client.log", "log4j")},
		Sniff: []Sniff{sn(`^\[\d{4}-\d{2}-\d{2}T[\d:]+[+-]\d{2}:\d{2}\] (INFO|WARN|ERROR|DEBUG|FATAL): .*(Chef|chef|cookbook|Run List)`, "log4j")}},
	{Name: "auth", Files: []Rule{r("var/log/auth.log", "syslog"), r("var/log/secure", "syslog")},
		Sniff: []Sniff{sn(`^\S+( [ \d]\d [\d:]+)? \S+ (sshd|sudo|su|login|systemd-logind)(\[\d+\])?: .*(session opened|Accepted|authentication|COMMAND=)`, "syslog")}},
	{Name: "dmesg", Files: []Rule{r("var/log/dmesg", "dmesg")},
		Sniff: []Sniff{sn(`^\[\s*\d+\.\d+\] (Linux version|Command line|BIOS|ACPI|pci|usb)`, "dmesg")}},
	{Name: "syslog", Files: []Rule{r("var/log/syslog", "syslog"), r("var/log/messages", "syslog"), r("var/log/kern.log", "syslog"), r("var/log/daemon.log", "syslog"),
		r("var/log/cron", "syslog"), r("var/log/user.log", "syslog")},
		Sniff: []Sniff{sn(`^\w{3} [ \d]\d \d{2}:\d{2}:\d{2} \S+ [\w./-]+(\[\d+\])?: `, "syslog"), sn(`^\d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{2}:\d{2} \S+ [\w./-]+(\[\d+\])?: `, "syslog")}},
}

// LookupApp returns the app called name.
func LookupApp(name string) (App, bool) {
	for _, a := range Apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}
