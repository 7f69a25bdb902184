package validate_test

import (
	"testing"

	"github.com/polyfn/polyfn/middleware/validate"
)

// BenchmarkCheck is the per-request cost of validating a body: parsing it,
// validating it and, for an invalid one, listing its violations.
func BenchmarkCheck(b *testing.B) {
	s := validate.MustCompile("user.json", []byte(userSchema))
	for _, bc := range []struct{ name, doc string }{
		{"valid", `{"name":"Ada","email":"ada@example.com","tags":["x"]}`},
		{"invalid", `{"name":"","email":"nope","tags":["a","b",3],"extra":1}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			doc := []byte(bc.doc)
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Check(doc)
			}
		})
	}
}
