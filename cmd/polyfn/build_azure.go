package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	azuredeploy "github.com/polyfn/polyfn/deploy/azure"
)

func init() {
	// Azure Functions runs custom handlers on Linux x64 only.
	packagers["azure"] = packager{archs: []string{"amd64"}, pack: packAzure}
}

// The files beside the function app's folder.
func azureTemplateFile(name string) string { return name + ".azuredeploy.json" }
func azureZipFile(name string) string      { return name + ".zip" }

// azureFunctionApp renders the function app of the apps in ms with the
// grant options g (see package deploy/azure; nil: the default schemes).
func azureFunctionApp(ms []core.Manifest, name string, g *deploy.GrantOptions) (*azuredeploy.FunctionApp, error) {
	p, err := deploy.NewPlan(ms, &deploy.Options{Arch: core.X86_64})
	if err != nil {
		return nil, err
	}
	return azuredeploy.Render(p, &azuredeploy.Options{Name: name, FunctionNames: azurefunctions.FunctionNames, Grants: g})
}

// packAzure writes <out>/azure/<name>/ (the handler executable, host.json
// and one folder per function with its function.json), its zip
// <name>.zip, and the ARM template of the whole app <name>.azuredeploy.json
// beside it, then prints what to run.
func packAzure(ctx context.Context, job buildJob) error {
	app, err := azureFunctionApp(job.Manifests, job.Name, job.Grants)
	if err != nil {
		return err
	}
	dir := filepath.Join(job.OutDir, job.Name)
	if err := os.RemoveAll(dir); err != nil { // functions removed since the last build must go too
		return err
	}
	if err := writeJSONFiles(dir, app.Files()); err != nil {
		return err
	}
	if err := crossBuild(ctx, job.Pkg, filepath.Join(dir, azuredeploy.Executable), job.Arch, "azure"); err != nil {
		return err
	}
	tmpl := filepath.Join(job.OutDir, azureTemplateFile(job.Name))
	if err := writeJSONFiles(job.OutDir, map[string]any{azureTemplateFile(job.Name): app.Template}); err != nil {
		return err
	}
	// The alert template of earlier builds is now part of the app's.
	if err := os.Remove(filepath.Join(job.OutDir, job.Name+".alerts.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	zipPath := filepath.Join(job.OutDir, azureZipFile(job.Name))
	if err := zipDir(dir, zipPath); err != nil {
		return err
	}
	fmt.Fprintf(job.Stdout, "azure: %s\nazure: %s\nazure: %s\n", dir, zipPath, tmpl)
	for _, n := range app.Notes {
		fmt.Fprintf(job.Stdout, "azure: note: %s\n", n)
	}
	fmt.Fprintf(job.Stdout, "azure: deploy with:\n  %s\n  %s\n", azureDeployCommand(app.Template, tmpl), azureZipCommand(zipPath))
	return nil
}

// azureDeployCommand is the command that deploys the template, with the
// parameters that have no default.
func azureDeployCommand(t azuredeploy.Template, path string) string {
	var params []string
	for n, p := range t.Parameters {
		if p.DefaultValue == nil {
			params = append(params, n+"=<"+n+">")
		}
	}
	slices.Sort(params)
	cmd := "az deployment group create --resource-group <resource-group> --template-file " + path
	if len(params) > 0 {
		cmd += " --parameters " + strings.Join(params, " ")
	}
	return cmd
}

// azureZipCommand is the command that deploys the function app's zip to
// the function app the template created (its output functionAppName).
func azureZipCommand(zipPath string) string {
	return "az functionapp deployment source config-zip --resource-group <resource-group> --name <functionAppName> --src " + zipPath
}

// writeJSONFiles writes each file, as indented JSON, under dir.
func writeJSONFiles(dir string, files map[string]any) error {
	for name, v := range files {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// zipDir writes the files under dir to a zip at out, by slash-separated
// paths relative to dir, each with its mode, so that the handler stays
// executable when the platform unpacks it.
func zipDir(dir, out string) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(fi)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h.Name, h.Method = filepath.ToSlash(rel), zip.Deflate
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err != nil {
		return err
	}
	return zw.Close()
}
