// Command gcloudstub stands for gcloud in deploy/gcp's tests: it
// appends its arguments to log.jsonl in the state directory that
// POLYFN_GCLOUD_STUB names and remembers what it created there, so that
// a describe (or a list by display name) finds only what a create made,
// as gcloud would. The tests build it and put it first on PATH as gcloud.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	dir := os.Getenv("POLYFN_GCLOUD_STUB")
	if dir == "" {
		fmt.Fprintln(os.Stderr, "gcloudstub: POLYFN_GCLOUD_STUB names no state directory")
		os.Exit(2)
	}
	os.Exit(stub(dir, os.Args[1:]))
}

// verbs are the gcloud verbs the stub tells apart.
var verbs = []string{"describe", "create", "update", "list", "deploy", "enable", "add-iam-policy-binding", "add-invoker-policy-binding"}

// stub is gcloud with args; it returns the exit status.
func stub(dir string, args []string) int {
	f, err := os.OpenFile(filepath.Join(dir, "log.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stub gcloud:", err)
		return 3
	}
	line, _ := json.Marshal(args)
	fmt.Fprintf(f, "%s\n", line)
	f.Close()

	var group []string
	verb, name := "", ""
	flags := map[string]string{}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--"):
			k, v, _ := strings.Cut(a[2:], "=")
			flags[k] = v
		case verb == "" && slices.Contains(verbs, a):
			verb = a
		case verb == "":
			if a != "beta" && a != "alpha" {
				group = append(group, a)
			}
		default:
			name = a // the last positional argument: create http NAME
		}
	}
	if flags["project"] == "" && strings.Join(group, " ") != "projects" {
		fmt.Fprintln(os.Stderr, "stub gcloud: no --project")
		return 2
	}
	kind := strings.Join(group, "-")
	if kind == "iam-service-accounts" {
		name, _, _ = strings.Cut(name, "@") // describe takes the email, create the ID
	}
	state := filepath.Join(dir, kind)
	exists := func(n string) bool { _, err := os.Stat(filepath.Join(state, n)); return err == nil }
	record := func(n string) {
		_ = os.MkdirAll(state, 0o755)
		_ = os.WriteFile(filepath.Join(state, n), nil, 0o644)
	}
	// Channels and policies are found by display name; their names are
	// the server's.
	display := ""
	if strings.HasPrefix(kind, "monitoring-") {
		display = flags["display-name"]
	}
	if p := flags["policy-from-file"]; p != "" {
		b, err := os.ReadFile(p)
		var pol struct{ DisplayName string }
		if err != nil || json.Unmarshal(b, &pol) != nil || pol.DisplayName == "" {
			fmt.Fprintf(os.Stderr, "stub gcloud: policy file %s: %v\n", p, err)
			return 2
		}
		display = pol.DisplayName
	}
	serverName := func(n string) string {
		sum := sha256.Sum256([]byte(n))
		return fmt.Sprintf("projects/%s/%s/%x", flags["project"], kind, sum[:4])
	}
	switch verb {
	case "describe":
		switch {
		case kind == "projects":
			fmt.Println("123456789012")
		case !exists(name):
			fmt.Fprintf(os.Stderr, "ERROR: %s %s not found\n", kind, name)
			return 1
		case kind == "functions":
			fmt.Printf("https://%s-abc123-ew.a.run.app\n", name)
		}
	case "create":
		if display != "" {
			name = display
		}
		if name == "" || exists(name) {
			fmt.Fprintf(os.Stderr, "ERROR: %s %q exists or is unnamed\n", kind, name)
			return 1
		}
		record(name)
		if display != "" {
			fmt.Println(serverName(name))
		}
	case "list":
		d, ok := strings.CutPrefix(flags["filter"], "displayName=")
		if !ok {
			fmt.Fprintf(os.Stderr, "stub gcloud: list without a displayName filter\n")
			return 2
		}
		if d = strings.Trim(d, `"`); exists(d) {
			fmt.Println(serverName(d))
		}
	case "deploy":
		record(name)
	case "update":
		if !exists(name) {
			fmt.Fprintf(os.Stderr, "ERROR: %s %s not found\n", kind, name)
			return 1
		}
	case "add-invoker-policy-binding":
		if !exists(name) && kind == "functions" {
			fmt.Fprintf(os.Stderr, "ERROR: function %s not found\n", name)
			return 1
		}
	case "enable", "add-iam-policy-binding":
	default:
		fmt.Fprintf(os.Stderr, "stub gcloud: unknown command %q\n", args)
		return 2
	}
	return 0
}
