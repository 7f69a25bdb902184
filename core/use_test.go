package core_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
)

// allUses is every use, so that the tables below name each (kind, use)
// pair, valid or refused.
var allUses = []core.Use{core.Read, core.Write, core.ReadWrite, core.Publish, core.Consume, core.Encrypt, core.Decrypt, core.EncryptDecrypt}

func TestUsesPerKind(t *testing.T) {
	constructors := map[core.ResourceKind]func(string, ...core.Use) core.Resource{
		core.KindBucket:       core.Bucket,
		core.KindCollection:   core.Collection,
		core.KindTopic:        core.Topic,
		core.KindSubscription: core.Subscription,
		core.KindKeeper:       core.Keeper,
		core.KindVariable:     core.Variable,
	}
	for _, tc := range []struct {
		kind  core.ResourceKind
		def   core.Use
		valid []core.Use
	}{
		{core.KindBucket, core.ReadWrite, []core.Use{core.Read, core.Write, core.ReadWrite}},
		{core.KindCollection, core.ReadWrite, []core.Use{core.Read, core.Write, core.ReadWrite}},
		{core.KindTopic, core.Publish, []core.Use{core.Publish}},
		{core.KindSubscription, core.Consume, []core.Use{core.Consume}},
		{core.KindKeeper, core.EncryptDecrypt, []core.Use{core.Encrypt, core.Decrypt, core.EncryptDecrypt}},
		{core.KindVariable, core.Read, []core.Use{core.Read}},
		{core.KindOIDCIssuer, "", nil},
		{core.KindOIDCAudience, "", nil},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			if got := core.DefaultUse(tc.kind); got != tc.def {
				t.Errorf("DefaultUse = %q, want %q", got, tc.def)
			}
			if got := core.UsesOf(tc.kind); !sameSet(got, tc.valid) {
				t.Errorf("UsesOf = %q, want %q", got, tc.valid)
			}
			declareWith := func(uses ...core.Use) core.Resource {
				if c, ok := constructors[tc.kind]; ok {
					return c("SOME_URL", uses...)
				}
				app := core.NewApp("a")
				r := core.Resource{Env: "SOME_URL", Kind: tc.kind}
				if len(uses) > 0 {
					r.Use = uses[0]
				}
				app.Require(r)
				return app.Resources()[0]
			}
			if got := declareWith(); got.Use != tc.def || got.Kind != tc.kind || got.Env != "SOME_URL" {
				t.Errorf("declared without uses: %+v, want use %q", got, tc.def)
			}
			for _, u := range allUses {
				ok := slices.Contains(tc.valid, u)
				msg := panicOf(func() { declareWith(u) })
				switch {
				case ok && msg != "":
					t.Errorf("a %s used as %q panicked: %s", tc.kind, u, msg)
				case ok:
					if got := declareWith(u); got.Use != u {
						t.Errorf("a %s used as %q declared as %q", tc.kind, u, got.Use)
					}
				case msg == "":
					t.Errorf("a %s used as %q did not panic", tc.kind, u)
				case !strings.Contains(msg, "SOME_URL") || !strings.Contains(msg, string(u)):
					t.Errorf("a %s used as %q: panic %q names neither the variable nor the use", tc.kind, u, msg)
				}
			}
		})
	}
}

func TestUsesJoin(t *testing.T) {
	for _, tc := range []struct {
		uses []core.Use
		want core.Use // "" for a panic
	}{
		{[]core.Use{core.Read, core.Write}, core.ReadWrite},
		{[]core.Use{core.Write, core.Read}, core.ReadWrite},
		{[]core.Use{core.Read, core.Read}, core.Read},
		{[]core.Use{core.ReadWrite, core.Read}, core.ReadWrite},
		{[]core.Use{core.Encrypt, core.Decrypt}, core.EncryptDecrypt},
		{[]core.Use{core.Decrypt, core.EncryptDecrypt}, core.EncryptDecrypt},
	} {
		var got core.Resource
		if tc.uses[0] == core.Encrypt || tc.uses[0] == core.Decrypt {
			got = core.Keeper("K_URL", tc.uses...)
		} else {
			got = core.Bucket("B_URL", tc.uses...)
		}
		if got.Use != tc.want {
			t.Errorf("uses %q joined to %q, want %q", tc.uses, got.Use, tc.want)
		}
	}
	if msg := panicOf(func() { core.Bucket("lower") }); !strings.Contains(msg, "lower") {
		t.Errorf("an invalid variable name: panic %q", msg)
	}
	if msg := panicOf(func() { core.NewApp("a").Require(core.Resource{Env: "X_URL", Kind: "queue"}) }); !strings.Contains(msg, "queue") {
		t.Errorf("an unknown kind: panic %q", msg)
	}
}

// TestResourcesJoinUses checks that a variable declared twice is declared
// once with both uses, and that a trigger's variable takes the use a
// Require gives it.
func TestResourcesJoinUses(t *testing.T) {
	h := core.HandlerFunc(nil)
	app := core.NewApp("a")
	app.Require(core.Bucket("MEDIA_URL", core.Read), core.Bucket("MEDIA_URL", core.Write), core.Variable("KEYS_URL"))
	app.On("on-upload", core.ObjectTrigger{Bucket: "UPLOADS_URL"}, h)
	app.On("on-order", core.MessageTrigger{Subscription: "ORDERS_SUB_URL", Topic: "ORDERS_TOPIC_URL"}, h)
	app.On("on-media", core.ObjectTrigger{Bucket: "MEDIA_URL"}, h)
	want := []core.Resource{
		{Env: "KEYS_URL", Kind: core.KindVariable, Use: core.Read},
		{Env: "MEDIA_URL", Kind: core.KindBucket, Use: core.ReadWrite},
		{Env: "ORDERS_SUB_URL", Kind: core.KindSubscription, Use: core.Consume, Optional: true},
		{Env: "ORDERS_TOPIC_URL", Kind: core.KindTopic, Optional: true},
		{Env: "UPLOADS_URL", Kind: core.KindBucket, Optional: true},
	}
	if got := app.Resources(); !slices.Equal(got, want) {
		t.Errorf("Resources() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestUseIncludes(t *testing.T) {
	for _, u := range allUses {
		for _, v := range allUses {
			want := u == v || u == core.ReadWrite && (v == core.Read || v == core.Write) ||
				u == core.EncryptDecrypt && (v == core.Encrypt || v == core.Decrypt)
			if got := u.Includes(v); got != want {
				t.Errorf("%q.Includes(%q) = %v, want %v", u, v, got, want)
			}
		}
		if !u.Includes("") {
			t.Errorf("%q.Includes(\"\") = false", u)
		}
	}
}

func sameSet(a, b []core.Use) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(u core.Use) bool { return !slices.Contains(b, u) })
}

// panicOf returns what f panics with, as a string, or "".
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}
