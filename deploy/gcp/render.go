package gcp

import (
	"bytes"
	"embed"
	"encoding/json"
	"strings"
	"text/template"
)

//go:embed templates
var templates embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	// cmd renders a command with its continuation lines indented by
	// depth levels.
	"cmd": func(c Command, depth int) string {
		return c.render(strings.Repeat("  ", depth+1))
	},
}).ParseFS(templates, "templates/*.tmpl"))

// About is what the documents say about the build.
type About struct {
	// Name is the bundle's name (the function binary's), Pkg the package
	// built.
	Name, Pkg string
	// HostPath is the module the bundle requires.
	HostPath string
}

// Files returns deploy.sh, DEPLOY.md and the alert policies by
// slash-separated path.
func (d *Deployment) Files(a About) (map[string][]byte, error) {
	width := 0
	for _, v := range d.Vars {
		width = max(width, len(v.Name))
	}
	data := struct {
		*Deployment
		About About
		Width int
	}{d, a, width}
	files := map[string][]byte{}
	for name, t := range map[string]string{"deploy.sh": "deploy.sh.tmpl", "DEPLOY.md": "DEPLOY.md.tmpl"} {
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, t, data); err != nil {
			return nil, err
		}
		files[name] = b.Bytes()
	}
	for path, p := range d.Policies {
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return nil, err
		}
		files[path] = append(b, '\n')
	}
	return files, nil
}
