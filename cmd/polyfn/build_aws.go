package main

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	awsdeploy "github.com/polyfn/polyfn/deploy/aws"
)

func init() {
	// arm64 first: Graviton functions cost less for the same work.
	packagers["aws"] = packager{archs: []string{"arm64", "amd64"}, pack: packAWS}
}

// packAWS writes <out>/aws/<name>.zip, the bootstrap of a provided.al2023
// custom runtime for --arch (and <name>-<goarch>.zip for another
// architecture a unit declares), and <out>/aws/<name>/template.yaml, the
// AWS SAM template of the app's deployment units (deploy/aws), which all
// run that one bootstrap.
func packAWS(ctx context.Context, job buildJob) error {
	// The template first: a declaration it cannot express fails before the build.
	tmpl, archs, err := awsTemplate(job.Name, job.Arch, job.Manifests, job.Grants)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "polyfn-aws-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, arch := range archs {
		goarch := arch.GOARCH()
		bin := filepath.Join(dir, goarch, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			return err
		}
		if err := crossBuild(ctx, job.Pkg, bin, goarch, "aws", "lambda.norpc"); err != nil {
			return err
		}
		zipPath := filepath.Join(job.OutDir, awsZipName(job.Name, job.Arch, arch))
		if err := writeBootstrapZip(zipPath, bin); err != nil {
			return err
		}
		fmt.Fprintf(job.Stdout, "wrote %s\n", zipPath)
	}
	tmplPath := filepath.Join(job.OutDir, job.Name, "template.yaml")
	if err := os.MkdirAll(filepath.Dir(tmplPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(tmplPath, tmpl, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(job.Stdout, "wrote %s\ndeploy with: sam deploy --guided --template-file %s\n", tmplPath, tmplPath)
	return nil
}

// awsTemplate plans the function's one app for arch (GOARCH spelling, the
// units' default) and renders its template with the grant options g (nil:
// every variable's URL has its kind's default scheme); it returns the architectures
// its units run on, the default first, each of which needs a bootstrap.
func awsTemplate(name, arch string, ms []core.Manifest, g *deploy.GrantOptions) ([]byte, []core.Arch, error) {
	if len(ms) != 1 {
		return nil, nil, fmt.Errorf("%s runs %d apps; an AWS Lambda function runs exactly one", name, len(ms))
	}
	def := core.X86_64
	if arch == "arm64" {
		def = core.ARM64
	}
	p, err := deploy.NewPlan(ms, &deploy.Options{Arch: def})
	if err != nil {
		return nil, nil, err
	}
	archs := []core.Arch{def}
	code := map[core.Arch]string{}
	for _, u := range p.Units {
		if !slices.Contains(archs, u.Sizing.Arch) {
			archs = append(archs, u.Sizing.Arch)
		}
	}
	for _, a := range archs {
		code[a] = "../" + awsZipName(name, arch, a)
	}
	t, err := awsdeploy.Render(p, &awsdeploy.Options{CodeURI: code, SchedulerInput: awslambda.SchedulerInput, Grants: g})
	if err != nil {
		return nil, nil, err
	}
	b, err := t.YAML()
	return b, archs, err
}

// awsZipName is the bootstrap zip of architecture a when the build's
// --arch is arch: <name>.zip for it, <name>-<goarch>.zip for another.
func awsZipName(name, arch string, a core.Arch) string {
	if a.GOARCH() == arch {
		return name + ".zip"
	}
	return name + "-" + a.GOARCH() + ".zip"
}

// zipTime is every zip entry's modification time, so that the same
// bootstrap gives the same zip (and CloudFormation sees no change).
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// writeBootstrapZip writes a zip holding bin as "bootstrap" at its root,
// executable: Lambda runs it as it is unpacked.
func writeBootstrapZip(path, bin string) (err error) {
	src, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	hdr.SetMode(0o755) // also marks the entry as made on Unix, so the mode is read back
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return err
	}
	return zw.Close()
}
