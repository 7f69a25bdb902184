package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

// TestAWSAlarmOutputs parses what the packager writes for each of
// alarmCases and checks that every alarm names the function and carries
// the thresholds.
func TestAWSAlarmOutputs(t *testing.T) {
	for _, tt := range alarmCases() {
		t.Run(tt.m.App+"/aws", func(t *testing.T) {
			b, err := samTemplate(tt.m.App, "arm64", tt.m)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := parseYAMLBlocks(string(b))
			if err != nil {
				t.Fatalf("template is not well-formed: %v", err)
			}
			param := dig(doc, "Parameters", awsAlarmTopicParam).(map[string]any)
			if param["Default"] != `""` {
				t.Errorf("%s: %v, want an optional parameter", awsAlarmTopicParam, param)
			}
			if dig(doc, "Conditions", awsAlarmTopicCondition) == nil {
				t.Errorf("no %s condition", awsAlarmTopicCondition)
			}
			want := map[string]string{ // logical id → threshold
				"ErrorsAlarm":    fmt.Sprint(tt.aws.errors),
				"ThrottlesAlarm": fmt.Sprint(tt.aws.throttles),
				"DurationAlarm":  fmt.Sprint(tt.aws.p99.Milliseconds()),
			}
			if tt.hasRoutes {
				want["HttpErrorsAlarm"] = fmt.Sprint(tt.aws.errors)
			}
			got := map[string]string{}
			for id, r := range dig(doc, "Resources").(map[string]any) {
				r := r.(map[string]any)
				if r["Type"] != "AWS::CloudWatch::Alarm" {
					continue
				}
				p := r["Properties"].(map[string]any)
				got[id] = p["Threshold"].(string)
				dim := p["Dimensions"].([]any)[0].(map[string]any)
				if dim["Value"] != "!Ref Function" && dim["Value"] != "!Ref ServerlessHttpApi" {
					t.Errorf("%s: dimension %v does not name the function or its API", id, dim)
				}
				if d := p["AlarmDescription"].(string); !strings.Contains(d, "polyfn "+tt.m.App+":") {
					t.Errorf("%s: description %s does not name the app", id, d)
				}
				if p["Period"] != fmt.Sprint(int(tt.aws.period.Seconds())) || p["TreatMissingData"] != "notBreaching" {
					t.Errorf("%s: period %v, missing data %v", id, p["Period"], p["TreatMissingData"])
				}
				if !strings.Contains(p["AlarmActions"].(string), "!Ref "+awsAlarmTopicParam) {
					t.Errorf("%s: actions %v", id, p["AlarmActions"])
				}
				if id == "DurationAlarm" && p["ExtendedStatistic"] != "p99" {
					t.Errorf("DurationAlarm: %v, want ExtendedStatistic p99", p)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alarm thresholds (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAWSAlarmsOff checks that an app that turns alarms off gets none.
func TestAWSAlarmsOff(t *testing.T) {
	m := quietApp()
	b, err := samTemplate("quiet", "arm64", m)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"AWS::CloudWatch::Alarm", awsAlarmTopicParam, "Conditions:"} {
		if strings.Contains(string(b), s) {
			t.Errorf("template has %s", s)
		}
	}
}

// TestAWSAlarmsRejectedAtBuild checks that thresholds the cloud cannot
// use fail the build with an error naming the app, never a panic.
func TestAWSAlarmsRejectedAtBuild(t *testing.T) {
	slow := withAlarms("slow", core.Alarms{P99: time.Minute})
	if _, err := samTemplate("slow", "arm64", slow); err == nil || !strings.Contains(err.Error(), "app slow") || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("aws: %v, want an error: the p99 threshold is past Lambda's 30 s", err)
	}
}

// TestSAMTemplateLint runs cfn-lint, where it is installed, on the golden
// templates: it checks every resource's properties against CloudFormation's
// resource specification.
func TestSAMTemplateLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		// The machine image CI runs on has it (pip); elsewhere it is optional.
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not installed (pip install cfn-lint)")
		}
		t.Skip("cfn-lint is not installed (pip install cfn-lint)")
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "aws", "*.template.yaml"))
	out, err := exec.Command(lint, golden...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %v: %v\n%s", golden, err, out)
	}
}

// dig follows keys through nested maps; nil when one is missing.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// parseYAMLBlocks parses the block structure of the YAML that samTemplate
// writes: mappings ("key: value", "key:" with a deeper block, "key: !Tag"
// with a deeper block) and sequences ("- item"), indented by spaces. Scalars
// and flow collections are kept as their source text. It fails on what
// would not parse as YAML: a line indented deeper than its block, a
// mapping line without a key, a duplicate key.
func parseYAMLBlocks(src string) (map[string]any, error) {
	type line struct {
		n, indent int
		text      string
	}
	var lines []line
	for i, l := range strings.Split(src, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("line %d: a tab in the indentation", i+1)
		}
		lines = append(lines, line{i + 1, len(l) - len(trimmed), trimmed})
	}
	var block func(i, indent int) (any, int, error)
	block = func(i, indent int) (any, int, error) {
		if strings.HasPrefix(lines[i].text, "- ") {
			var seq []any
			for i < len(lines) && lines[i].indent == indent && strings.HasPrefix(lines[i].text, "- ") {
				rest := lines[i].text[2:]
				if k, _, ok := strings.Cut(rest, ":"); ok && !strings.ContainsAny(k, ` "[!`) {
					// "- key: value": a mapping whose first line follows the dash.
					lines[i] = line{lines[i].n, indent + 2, rest}
					v, next, err := block(i, indent+2)
					if err != nil {
						return nil, 0, err
					}
					seq, i = append(seq, v), next
					continue
				}
				seq, i = append(seq, rest), i+1
			}
			return seq, i, nil
		}
		m := map[string]any{}
		for i < len(lines) && lines[i].indent == indent {
			l := lines[i]
			key, value, ok := strings.Cut(l.text, ":")
			if !ok || key == "" || strings.ContainsAny(key, " \"") || (value != "" && value[0] != ' ') {
				return nil, 0, fmt.Errorf("line %d: %q is not a mapping entry", l.n, l.text)
			}
			if _, dup := m[key]; dup {
				return nil, 0, fmt.Errorf("line %d: duplicate key %s", l.n, key)
			}
			value = strings.TrimSpace(value)
			i++
			if i < len(lines) && lines[i].indent > indent {
				if value != "" && !strings.HasPrefix(value, "!") {
					return nil, 0, fmt.Errorf("line %d: a block under the scalar %q", lines[i].n, value)
				}
				v, next, err := block(i, lines[i].indent)
				if err != nil {
					return nil, 0, err
				}
				m[key], i = v, next
				continue
			}
			m[key] = value
		}
		if i < len(lines) && lines[i].indent > indent {
			return nil, 0, fmt.Errorf("line %d: unexpected indentation", lines[i].n)
		}
		return m, i, nil
	}
	v, i, err := block(0, 0)
	if err != nil {
		return nil, err
	}
	if i != len(lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", lines[i].n)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the document is not a mapping")
	}
	return m, nil
}
