package mysql_test

import (
	"logpacker/appliance"
	"logpacker/appliance/sink/mysql"
)

var _ appliance.Sink = (*mysql.Sink)(nil)
