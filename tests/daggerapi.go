// Package tests checks the repository's GitHub workflows against the Dagger
// module they call.
//
// The module's command-line surface is read from its Go source, the way the
// Dagger Go SDK reads it, so a renamed function or argument breaks these
// tests instead of a promotion in CI.
package tests

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// module is what `dagger call` accepts for one Dagger module.
type module struct {
	// constructor holds the flags of New, given before the first function.
	constructor *function
	// main is the Go name of the object New returns.
	main string
	// objects are the module's object types, by Go type name.
	objects map[string]*object
}

// object is one object type of a module and what can be called on it.
type object struct {
	name string
	// functions are its methods and fields, by command-line name.
	functions map[string]*function
}

// function is a method or field of an object, or the constructor.
type function struct {
	name string
	// flags are its arguments, by command-line name without dashes.
	flags map[string]*flag
	// returns is the Go name of the module object it returns, if any.
	returns string
	// returnsCore is set when it returns an object of the Dagger API
	// itself, such as a Container, whose functions this package does not
	// know.
	returnsCore bool
}

// flag is one argument of a function.
type flag struct {
	name     string
	isBool   bool
	required bool
}

// loadModule reads the Go source of the Dagger module in dir: every file of
// package main there except generated ones and tests.
func loadModule(dir string) (*module, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing the module's files: %w", err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parsing the module's source: %w", err)
		}
		if f.Name.Name == "main" && !ast.IsGenerated(f) {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go source of package main in %s", dir)
	}

	m := &module{objects: make(map[string]*object)}
	// Object types first, so that return types can be told apart from
	// scalars when the functions are read.
	for _, f := range files {
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				ts := spec.(*ast.TypeSpec)
				if _, ok := ts.Type.(*ast.StructType); ok && ts.Name.IsExported() {
					m.objects[ts.Name.Name] = &object{name: ts.Name.Name, functions: make(map[string]*function)}
				}
			}
		}
	}
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				m.addFields(d)
			case *ast.FuncDecl:
				if err := m.addFunc(f, d); err != nil {
					return nil, err
				}
			}
		}
	}
	if m.constructor == nil {
		return nil, fmt.Errorf("no constructor New returning a module object in %s", dir)
	}
	return m, nil
}

// addFields makes the exported fields of the object types declared in d
// functions without arguments, except those marked +private.
func (m *module) addFields(d *ast.GenDecl) {
	if d.Tok != token.TYPE {
		return
	}
	for _, spec := range d.Specs {
		ts := spec.(*ast.TypeSpec)
		obj := m.objects[ts.Name.Name]
		st, ok := ts.Type.(*ast.StructType)
		if obj == nil || !ok {
			continue
		}
		for _, field := range st.Fields.List {
			if hasPragma("+private", field.Doc) {
				continue
			}
			for _, id := range field.Names {
				if !id.IsExported() {
					continue
				}
				apiName := lowerCamel(id.Name)
				if tag := jsonTagName(field.Tag); tag == "-" {
					continue
				} else if tag != "" {
					apiName = tag
				}
				fn := &function{name: kebab(apiName), flags: map[string]*flag{}}
				m.setReturns(fn, field.Type)
				obj.functions[fn.name] = fn
			}
		}
	}
}

// addFunc records New as the constructor and exported methods of object
// types as functions.
func (m *module) addFunc(file *ast.File, d *ast.FuncDecl) error {
	if !d.Name.IsExported() {
		return nil
	}
	var obj *object
	if d.Recv == nil {
		if d.Name.Name != "New" {
			return nil
		}
	} else {
		obj = m.objects[baseTypeName(d.Recv.List[0].Type)]
		if obj == nil {
			return nil
		}
	}

	fn := &function{name: cliName(d.Name.Name), flags: map[string]*flag{}}
	if d.Type.Results != nil && len(d.Type.Results.List) > 0 {
		m.setReturns(fn, d.Type.Results.List[0].Type)
	}
	prevEnd := d.Type.Params.Opening
	for _, param := range d.Type.Params.List {
		doc := commentsBetween(file, prevEnd, param.Pos())
		prevEnd = param.End()
		if isContext(param.Type) {
			continue
		}
		optional := hasPragma("+optional", doc...) || hasPragma("+default=", doc...)
		for _, id := range param.Names {
			fl := &flag{
				name:     cliName(id.Name),
				isBool:   isIdent(param.Type, "bool"),
				required: !optional,
			}
			fn.flags[fl.name] = fl
		}
	}

	if obj == nil {
		if fn.returns == "" {
			return fmt.Errorf("constructor New returns no object of the module")
		}
		m.constructor, m.main = fn, fn.returns
		return nil
	}
	obj.functions[fn.name] = fn
	return nil
}

// setReturns records what a function or field of type expr returns.
func (m *module) setReturns(fn *function, expr ast.Expr) {
	for {
		switch t := expr.(type) {
		case *ast.StarExpr:
			expr = t.X
			continue
		case *ast.ArrayType:
			expr = t.Elt
			continue
		case *ast.Ident:
			if _, ok := m.objects[t.Name]; ok {
				fn.returns = t.Name
			}
		case *ast.SelectorExpr:
			if pkg, ok := t.X.(*ast.Ident); ok && pkg.Name == "dagger" {
				fn.returnsCore = true
			}
		}
		return
	}
}

// cliName is the name the dagger CLI gives a Go function or parameter name:
// the engine's API name, in kebab case.
func cliName(goName string) string {
	return kebab(lowerCamel(goName))
}

// engineAcronyms are the names the engine keeps in capitals after their
// first letter when it makes API names, so that JSON becomes jSON.
var engineAcronyms = []string{"JSON", "LLM"}

// lowerCamel is the API name the engine gives a Go name: the first letter
// lower-cased, and each capital that follows a capital lower-cased too.
func lowerCamel(name string) string {
	runes := []rune(name)
	acronym := slices.Contains(engineAcronyms, name)
	prevUpper := false
	for i, r := range runes {
		upper := unicode.IsUpper(r)
		if i == 0 || (upper && prevUpper && !acronym) {
			runes[i] = unicode.ToLower(r)
		}
		prevUpper = upper
	}
	return string(runes)
}

// kebab splits an API name into words, at a change from lower case or a
// digit to upper case, between letters and digits, and before the last
// capital of a run of capitals followed by lower case; and joins them
// lower-cased with hyphens.
func kebab(name string) string {
	runes := []rune(name)
	var b strings.Builder
	for i, r := range runes {
		if r == '_' || r == ' ' || r == '.' || r == '-' {
			b.WriteByte('-')
			continue
		}
		if i > 0 && wordBoundary(runes[i-1], r, runes[i+1:]) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// wordBoundary reports whether a new word starts at r, which follows prev
// and precedes rest.
func wordBoundary(prev, r rune, rest []rune) bool {
	switch {
	case unicode.IsDigit(prev) != unicode.IsDigit(r):
		return unicode.IsLetter(prev) || unicode.IsLetter(r)
	case unicode.IsLower(prev) && unicode.IsUpper(r):
		return true
	case unicode.IsUpper(prev) && unicode.IsUpper(r):
		return len(rest) > 0 && unicode.IsLower(rest[0])
	}
	return false
}

// commentsBetween returns the comments of file that lie between from and to:
// for a parameter, the comments written above it.
func commentsBetween(file *ast.File, from, to token.Pos) []*ast.CommentGroup {
	var groups []*ast.CommentGroup
	for _, cg := range file.Comments {
		if cg.Pos() > from && cg.End() <= to {
			groups = append(groups, cg)
		}
	}
	return groups
}

// hasPragma reports whether a comment line of groups is pragma, such as
// +optional, or starts with it when it ends in "=", such as +default=.
func hasPragma(pragma string, groups ...*ast.CommentGroup) bool {
	for _, cg := range groups {
		if cg == nil {
			continue
		}
		for _, c := range cg.List {
			line := strings.TrimSpace(strings.TrimPrefix(c.Text, "//"))
			if line == pragma || (strings.HasSuffix(pragma, "=") && strings.HasPrefix(line, pragma)) {
				return true
			}
		}
	}
	return false
}

// jsonTagName returns the name in a field's json tag, if it has one.
func jsonTagName(tag *ast.BasicLit) string {
	if tag == nil {
		return ""
	}
	const key = `json:"`
	s := strings.Trim(tag.Value, "`")
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	if j := strings.IndexAny(s, `",`); j >= 0 {
		s = s[:j]
	}
	return s
}

// baseTypeName returns T for a receiver of type T or *T.
func baseTypeName(expr ast.Expr) string {
	if star, ok := expr.(*ast.StarExpr); ok {
		expr = star.X
	}
	if id, ok := expr.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// isContext reports whether expr is context.Context.
func isContext(expr ast.Expr) bool {
	sel, ok := expr.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "context" && sel.Sel.Name == "Context"
}

// isIdent reports whether expr is the identifier name.
func isIdent(expr ast.Expr, name string) bool {
	id, ok := expr.(*ast.Ident)
	return ok && id.Name == name
}
