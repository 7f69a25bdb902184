package thumbnails

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/polyfn/polyfn/core"
)

func TestFit(t *testing.T) {
	tests := []struct {
		w, h         int
		wantW, wantH int
	}{
		{1024, 512, 256, 128},
		{512, 1024, 128, 256},
		{100, 300, 85, 256}, // 85.33 rounds down
		{300, 100, 256, 85},
		{500, 300, 256, 154}, // 153.6 rounds up
		{50, 40, 50, 40},
		{256, 256, 256, 256},
		{256, 1, 256, 1},
		{257, 257, 256, 256},
		{257, 1, 256, 1},
		{1000, 1, 256, 1}, // 0.256 would round to 0: at least 1
		{1, 40_000_000, 1, 256},
		{1 << 30, 1 << 29, 256, 128},
	}
	for _, tt := range tests {
		gotW, gotH := fit(tt.w, tt.h, MaxSide)
		if gotW != tt.wantW || gotH != tt.wantH {
			t.Errorf("fit(%d, %d): got %dx%d, want %dx%d", tt.w, tt.h, gotW, gotH, tt.wantW, tt.wantH)
		}
	}
}

// FuzzRender checks that no content makes render panic or exceed its
// limits, that it fails only with a skip or an Internal error, and that a
// thumbnail it makes is a decodable image of the source's format and of the
// size fit gives.
func FuzzRender(f *testing.F) {
	gray := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 40)
	}
	var p, j bytes.Buffer
	if err := png.Encode(&p, gray); err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&j, gray, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	f.Add([]byte("GIF89a"))
	f.Add([]byte{})

	// A small pixel limit keeps the fuzzer from spending its time decoding
	// large images that the real limit would allow.
	lim := limits{maxBytes: 1 << 20, maxPixels: 64 * 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		th, err := render(data, lim)
		if err != nil {
			var sk *skip
			if !errors.As(err, &sk) && core.CodeOf(err) != core.Internal {
				t.Fatalf("got error %v (%T), want a skip or an Internal error", err, err)
			}
			return
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("rendered content whose header does not decode: %v", err)
		}
		if int64(cfg.Width)*int64(cfg.Height) > lim.maxPixels {
			t.Fatalf("rendered a %dx%d image, over the %d pixel limit", cfg.Width, cfg.Height, lim.maxPixels)
		}
		got, gotFormat, err := image.DecodeConfig(bytes.NewReader(th.data))
		if err != nil {
			t.Fatalf("thumbnail does not decode: %v", err)
		}
		wantW, wantH := fit(cfg.Width, cfg.Height, MaxSide)
		if gotFormat != format || got.Width != wantW || got.Height != wantH || th.width != wantW || th.height != wantH {
			t.Fatalf("thumbnail of a %dx%d %s: got %dx%d %s (reported %dx%d), want %dx%d %s",
				cfg.Width, cfg.Height, format, got.Width, got.Height, gotFormat, th.width, th.height, wantW, wantH, format)
		}
		if want := "image/" + format; th.contentType != want {
			t.Fatalf("content type: got %q, want %q", th.contentType, want)
		}
	})
}
