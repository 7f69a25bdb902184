package runtimeapi

import (
	"bufio"
	"bytes"
	"net/http/httptest"
	"testing"
)

// FuzzFunctionURLResponse feeds the function URL's decoders what a runtime
// may post: a streamed response's prelude and a buffered reply. Neither may
// panic, and a prelude that decodes ends at its eight null bytes.
func FuzzFunctionURLResponse(f *testing.F) {
	f.Add([]byte(`{"statusCode":201,"headers":{"A":"b"},"cookies":["c=1"]}` + "\x00\x00\x00\x00\x00\x00\x00\x00body"))
	f.Add([]byte(`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReader(bytes.NewReader(b))
		if _, err := readPrelude(br); err == nil {
			i := bytes.Index(b, nulls)
			if i < 0 {
				t.Fatalf("a prelude decoded from %q, which has no eight null bytes", b)
			}
		}
		writeBuffered(httptest.NewRecorder(), b)
	})
}
