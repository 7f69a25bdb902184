package main

import (
	"strconv"
	"time"
)

// The AWS template's alarms are rendered by deploy/aws; what is left here
// is shared by the GCP and Azure alarms.

// describePeriod writes an alarm period for people: "1 minute", "5
// minutes", "1 hour".
func describePeriod(d time.Duration) string {
	if d%time.Hour == 0 {
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
