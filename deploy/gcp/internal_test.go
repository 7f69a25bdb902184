package gcp

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

func TestSchedulerCron(t *testing.T) {
	tests := []struct{ in, zone, want, err string }{
		{"30 2 * * 1-5", "", "30 2 * * 1-5", ""},
		{"0 */5 * * * *", "", "*/5 * * * *", ""},
		{"0 30 3 1,15 * ?", "", "30 3 1,15 * *", ""},
		{"*/5 9-17 * * MON-FRI", "Europe/Paris", "*/5 9-17 * * MON-FRI", ""},
		{"@hourly", "", "0 * * * *", ""},
		{"@daily", "", "0 0 * * *", ""},
		{"@weekly", "", "0 0 * * 0", ""},
		{"@every 10m", "", "*/10 * * * *", ""},
		{"@every 1h", "", "0 * * * *", ""},
		{"@every 6h", "", "0 */6 * * *", ""},
		{"@every 24h", "", "0 0 * * *", ""},
		{"@every 7m", "", "", "divide an hour"},
		{"@every 90s", "", "", "divide an hour"},
		{"@every 30s", "", "", "divide an hour"},
		{"30 0 */5 * * *", "", "", "minute precision"},
	}
	for _, tt := range tests {
		s, err := deploy.ParseSchedule(core.TimerTrigger{Schedule: tt.in, TimeZone: tt.zone})
		if err != nil {
			t.Fatalf("ParseSchedule(%q): %v", tt.in, err)
		}
		got, err := schedulerCron(s)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("schedulerCron(%q) = %q, %v; want %q, error containing %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestAccountID(t *testing.T) {
	for _, unit := range []string{"users", "orders-record-order", "kitchen-sink-user-changes",
		"a-very-long-app-name-with-a-long-function", "a-very-long-app-name-with-a-long-function-too", "abcdefghijklmnopqrstuvw-xyz-more"} {
		id := accountID(unit)
		if len(id) < 6 || len(id) > 30 || !isShellName(strings.ReplaceAll(id, "-", "_")) || id[0] < 'a' || id[0] > 'z' || strings.HasSuffix(id, "-") || strings.Contains(id, "--") {
			t.Errorf("accountID(%q) = %q, want 6 to 30 lower-case letters, digits and single dashes", unit, id)
		}
		if len(unit) >= 6 && len(unit) <= 30 && id != unit {
			t.Errorf("accountID(%q) = %q, want the unit's name", unit, id)
		}
	}
	if a, b := accountID("a-very-long-app-name-with-a-long-function"), accountID("a-very-long-app-name-with-a-long-function-too"); a == b {
		t.Errorf("two long units share the account %s", a)
	}
}

func TestWordQuoting(t *testing.T) {
	for _, tt := range []struct {
		w    Word
		want string
	}{
		{word("plain-word_1.2:/x@y%z+a,b="), "plain-word_1.2:/x@y%z+a,b="},
		{word("two words"), "'two words'"},
		{word("it's"), `'it'\''s'`},
		{word(""), "''"},
		{word("--uri=${URL}"), `"--uri=${URL}"`},
		{Word{{Lit: `a"b$c` + "`" + `\`}, {Var: "X"}}, `"a\"b\$c` + "\\`" + `\\${X}"`},
		{Word{{Lit: "x"}, ifSet("OPT", word(";K=${OPT}"))}, `"x${OPT:+;K=${OPT}}"`},
	} {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("%+v renders %s, want %s", tt.w, got, tt.want)
		}
		// bash passes the word as Value says, with values that would
		// split or expand if they were not quoted.
		env := map[string]string{"URL": "https://x y/$(false)", "X": "a b*", "OPT": "o;p"}
		for _, opt := range []string{"o;p", ""} {
			env["OPT"] = opt
			cmd := exec.Command("bash", "-c", "printf %s "+tt.w.String())
			cmd.Env = []string{"URL=" + env["URL"], "X=" + env["X"], "OPT=" + opt}
			out, err := cmd.Output()
			if want := tt.w.Value(func(v string) string { return env[v] }); err != nil || string(out) != want {
				t.Errorf("bash passes %s as %q (%v), want %q", tt.w, out, err, want)
			}
		}
	}
}
