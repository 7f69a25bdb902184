package azurefunctions

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMetaString(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"host form: JSON-quoted in a string", `"\"a0004923-f050\""`, "a0004923-f050", false},
		{"documentation form: plain string", `"a0004923-f050"`, "a0004923-f050", false},
		{"a value whose own text is quoted keeps its quotes", `"\"\\\"x\\\"\""`, `"x"`, false},
		{"number", `1`, "1", false},
		{"number as text", `"1"`, "1", false},
		{"boolean", `true`, "true", false},
		{"empty string", `"\"\""`, "", false},
		{"object", `{}`, "", true},
		{"array", `[1]`, "", true},
		{"broken string", `"abc`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metaString(json.RawMessage(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("metaString(%s) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMetaInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`"1"`, 1, false},
		{`1`, 1, false},
		{`"\"42\""`, 42, false},
		{`" 7 "`, 7, false},
		{`"1.5"`, 0, true},
		{`"x"`, 0, true},
		{`null`, 0, true},
		{`{}`, 0, true},
	}
	for _, tt := range tests {
		got, err := metaInt(json.RawMessage(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("metaInt(%s) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMetaTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2022-06-13T06:00:06+00:00"`, time.Date(2022, 6, 13, 6, 0, 6, 0, time.UTC)},
		{`"2022-06-13T08:00:06+02:00"`, time.Date(2022, 6, 13, 6, 0, 6, 0, time.UTC)},
		{`"2022-06-13T06:00:18.1974545Z"`, time.Date(2022, 6, 13, 6, 0, 18, 197454500, time.UTC)},
		{`"2026-11-21T10:30:00"`, time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)},
		{`"\"2026-11-21T10:30:00Z\""`, time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)},
		{`"2026-11-21 10:30:00"`, time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := metaTime(json.RawMessage(tt.in))
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("metaTime(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{`"11/21/2026 10:30:00"`, `"tomorrow"`, `1763721000`, `{}`} {
		if got, err := metaTime(json.RawMessage(in)); err == nil {
			t.Errorf("metaTime(%s) = %v, want an error", in, got)
		}
	}
}

func TestUnwrapJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"object", `{"a":1}`, `{"a":1}`},
		{"array as text", `"[{\"id\":\"x\"}]"`, `[{"id":"x"}]`},
		{"object as text of text", `"\"{\\\"a\\\":1}\""`, `{"a":1}`},
		{"string that is not JSON stays", `"hello"`, `"hello"`},
		{"number as text", `"1"`, `1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unwrapJSON(json.RawMessage(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("unwrapJSON(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
	deep := json.RawMessage(`{}`)
	for range maxUnwrap + 1 {
		deep, _ = json.Marshal(string(deep))
	}
	if got, err := unwrapJSON(deep); err == nil {
		t.Errorf("unwrapJSON of %d string layers = %s, want an error", maxUnwrap+1, got)
	}
}

func TestPayloadBytes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"string binding: text JSON-encoded twice", `"\"aaaaa\""`, "aaaaa"},
		{"string binding: JSON message", `"\"{\\\"id\\\":1}\""`, `{"id":1}`},
		{"string binding: empty message", `"\"\""`, ""},
		{"string binding: text that looks like base64", `"\"aGVsbG8=\""`, "aGVsbG8="},
		{"binary binding: base64", `"AP8BAg=="`, "\x00\xff\x01\x02"},
		{"binary binding: empty", `""`, ""},
		{"documentation form: plain text", `"hello queue"`, "hello queue"},
		{"an object as itself", `{"a": 1}`, `{"a": 1}`},
		{"null", `null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payloadBytes(json.RawMessage(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("payloadBytes(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := payloadBytes(nil); err == nil {
		t.Error("payloadBytes(nil) succeeded, want an error")
	}
}

func TestMetadataGetIgnoresCaseAndNull(t *testing.T) {
	m := metadata{"DequeueCount": json.RawMessage(`"2"`), "PopReceipt": json.RawMessage(`null`)}
	if v, ok := m.get("dequeuecount"); !ok || string(v) != `"2"` {
		t.Errorf("get(dequeuecount) = %s, %v", v, ok)
	}
	if _, ok := m.get("PopReceipt"); ok {
		t.Error("get(PopReceipt) found a null value")
	}
}

// FuzzValues feeds every value decoder arbitrary JSON values: none may
// panic, and a value metaString accepts is a string metaInt either parses
// or rejects.
func FuzzValues(f *testing.F) {
	for _, s := range []string{`"\"abc\""`, `"1"`, `1`, `{}`, `[1,2]`, `null`, `"2022-06-13T06:00:06+00:00"`,
		`"[{\"id\":1}]"`, `"AP8BAg=="`, `"\"\\\"x\\\"\""`, `true`, `"`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := json.RawMessage(b)
		_, _ = metaString(raw)
		_, _ = metaInt(raw)
		_, _ = metaBool(raw)
		_, _ = metaTime(raw)
		_, _ = metaObject(raw)
		_, _ = unwrapJSON(raw)
		_, _ = payloadBytes(raw)
		_ = queryFromMap(raw)
	})
}
