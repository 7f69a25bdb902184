package thumbnails

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"

	"github.com/polyfn/polyfn/core"
	"golang.org/x/image/draw"
)

const jpegQuality = 85

// thumb is an encoded thumbnail.
type thumb struct {
	data          []byte
	width, height int
	contentType   string
}

// imageFormat is a format read and written, by the name image.DecodeConfig
// gives it. The format is sniffed from the content, never taken from the
// key's extension.
type imageFormat struct {
	contentType string
	decode      func(io.Reader) (image.Image, error)
	encode      func(io.Writer, image.Image) error
}

var formats = map[string]imageFormat{
	"png":  {contentType: "image/png", decode: png.Decode, encode: png.Encode},
	"jpeg": {contentType: "image/jpeg", decode: jpeg.Decode, encode: encodeJPEG},
}

func encodeJPEG(w io.Writer, m image.Image) error {
	return jpeg.Encode(w, m, &jpeg.Options{Quality: jpegQuality})
}

// render makes the thumbnail of a JPEG or PNG image, in the same format. It
// returns a skip for content that is not such an image, is corrupt, or
// declares more pixels than lim allows (checked before the pixels are
// decoded, so a small file cannot make it allocate gigabytes).
func render(data []byte, lim limits) (thumb, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return thumb{}, skipf(slog.LevelInfo, "not a JPEG or PNG image")
	}
	if err != nil {
		return thumb{}, skipf(slog.LevelWarn, "corrupt image header: %v", err)
	}
	f, ok := formats[format]
	if !ok { // another package of the program registered more formats
		return thumb{}, skipf(slog.LevelWarn, "%s images are not supported", format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return thumb{}, skipf(slog.LevelWarn, "empty %dx%d image", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.maxPixels {
		return thumb{}, skipf(slog.LevelWarn, "%dx%d image exceeds %d pixels", cfg.Width, cfg.Height, lim.maxPixels)
	}
	src, err := f.decode(bytes.NewReader(data))
	if err != nil {
		return thumb{}, skipf(slog.LevelWarn, "corrupt %s image: %v", format, err)
	}

	sb := src.Bounds()
	w, h := fit(sb.Dx(), sb.Dy(), MaxSide)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == sb.Dx() && h == sb.Dy() {
		draw.Copy(dst, image.Point{}, src, sb, draw.Src, nil)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, sb, draw.Src, nil)
	}
	var buf bytes.Buffer
	if err := f.encode(&buf, dst); err != nil {
		return thumb{}, core.Errorf(core.Internal, "thumbnails: encoding the %s thumbnail: %w", format, err)
	}
	return thumb{data: buf.Bytes(), width: w, height: h, contentType: f.contentType}, nil
}

// fit returns the size of a w×h image scaled to at most limit pixels on its
// long side, keeping the aspect ratio: the short side is rounded to the
// nearest pixel, and is at least 1. An image that fits already keeps its size.
func fit(w, h, limit int) (int, int) {
	if w <= limit && h <= limit {
		return w, h
	}
	scale := func(short, long int) int {
		// round(short × limit / long), in int64 so that large sides cannot overflow
		n := (int64(short)*int64(limit) + int64(long)/2) / int64(long)
		return int(max(n, 1))
	}
	if w >= h {
		return limit, scale(h, w)
	}
	return scale(w, h), limit
}
