package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// The parts of an AsyncAPI 3 document the page shows.
type asyncDoc struct {
	Info struct {
		Title       string            `yaml:"title"`
		Version     string            `yaml:"version"`
		Description string            `yaml:"description"`
		CloseCodes  map[string]string `yaml:"x-close-codes"`
	} `yaml:"info"`
	Channels   yaml.Node `yaml:"channels"`   // kept in document order
	Operations yaml.Node `yaml:"operations"` // kept in document order
	Components struct {
		Messages map[string]asyncMessage `yaml:"messages"`
	} `yaml:"components"`
}

type asyncChannel struct {
	Address     string `yaml:"address"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	Parameters  map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"parameters"`
	Messages yaml.Node `yaml:"messages"`
}

type asyncMessage struct {
	Name        string         `yaml:"name"`
	Title       string         `yaml:"title"`
	Summary     string         `yaml:"summary"`
	Description string         `yaml:"description"`
	ContentType string         `yaml:"contentType"`
	Payload     map[string]any `yaml:"payload"`
	Examples    []struct {
		Name    string `yaml:"name"`
		Summary string `yaml:"summary"`
		Payload any    `yaml:"payload"`
	} `yaml:"examples"`
}

type asyncOperation struct {
	Action  string `yaml:"action"`
	Channel struct {
		Ref string `yaml:"$ref"`
	} `yaml:"channel"`
	Messages []struct {
		Ref string `yaml:"$ref"`
	} `yaml:"messages"`
}

type ref struct {
	Ref string `yaml:"$ref"`
}

// The page's view model.
type (
	wsPage struct {
		Title       string
		Version     string
		Description template.HTML
		CloseCodes  [][2]string
		Channels    []wsChannel
		Frames      []wsFrame
	}
	wsChannel struct {
		ID          string
		Address     string
		Title       string
		Description template.HTML
		Parameters  [][2]string
		Messages    []wsMessage
	}
	wsMessage struct {
		Name        string
		Title       string
		Direction   string // "server → client" or "client → server"
		Summary     string
		Description template.HTML
		ContentType string
		Union       string     // the payload's tagged union, if it is one
		Frames      []wsMember // the frames it may be
		Examples    []wsExample
	}
	wsMember struct {
		Type   string // the discriminator value
		Schema string
	}
	wsExample struct {
		Name, Summary, JSON string
	}
	wsFrame struct {
		Name        string
		Title       string
		Description template.HTML
		Properties  []wsProperty
		Example     string
	}
	wsProperty struct {
		Name        string
		Type        string
		Link        string // a schema of its own, rendered below
		Required    bool
		Description template.HTML
	}
)

const schemaPrefix = "#/components/schemas/"

// renderWebSocket renders the AsyncAPI document as one HTML page, with the
// frame schemas it references looked up in the OpenAPI document.
func renderWebSocket(asyncapi []byte, spec *openapi3.T) ([]byte, error) {
	var doc asyncDoc
	if err := yaml.Unmarshal(asyncapi, &doc); err != nil {
		return nil, fmt.Errorf("parse asyncapi document: %w", err)
	}
	p := wsPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: markdown(doc.Info.Description)}
	for code, meaning := range doc.Info.CloseCodes {
		p.CloseCodes = append(p.CloseCodes, [2]string{code, meaning})
	}
	sort.Slice(p.CloseCodes, func(i, j int) bool { return p.CloseCodes[i][0] < p.CloseCodes[j][0] })

	// Which way each channel message goes, from the operations.
	direction := map[string]string{} // "#/channels/user/messages/send" → direction
	err := eachPair(&doc.Operations, func(_ string, n *yaml.Node) error {
		var op asyncOperation
		if err := n.Decode(&op); err != nil {
			return err
		}
		d := "client → server"
		if op.Action == "send" {
			d = "server → client"
		}
		for _, m := range op.Messages {
			direction[m.Ref] = d
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read operations: %w", err)
	}

	frames := &frameSet{spec: spec, seen: map[string]bool{}}
	err = eachPair(&doc.Channels, func(id string, n *yaml.Node) error {
		var ch asyncChannel
		if err := n.Decode(&ch); err != nil {
			return err
		}
		c := wsChannel{ID: id, Address: ch.Address, Title: ch.Title, Description: markdown(ch.Description)}
		for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(ch.Address, -1) {
			c.Parameters = append(c.Parameters, [2]string{m[1], ch.Parameters[m[1]].Description})
		}
		err := eachPair(&ch.Messages, func(key string, n *yaml.Node) error {
			var r ref
			if err := n.Decode(&r); err != nil {
				return err
			}
			name := strings.TrimPrefix(r.Ref, "#/components/messages/")
			msg, ok := doc.Components.Messages[name]
			if !ok {
				return fmt.Errorf("channel %s: no message %s", id, r.Ref)
			}
			m, err := frames.message(msg)
			if err != nil {
				return fmt.Errorf("channel %s message %s: %w", id, key, err)
			}
			m.Direction = direction["#/channels/"+id+"/messages/"+key]
			c.Messages = append(c.Messages, m)
			return nil
		})
		p.Channels = append(p.Channels, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read channels: %w", err)
	}
	p.Frames = frames.list
	var buf bytes.Buffer
	if err := wsTemplate.Execute(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// eachPair calls f with every key and value of a YAML mapping, in order.
func eachPair(n *yaml.Node, f func(key string, value *yaml.Node) error) error {
	if n.Kind == 0 {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := f(n.Content[i].Value, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// frameSet collects the frame schemas the page describes, in the order the
// channels first mention them.
type frameSet struct {
	spec *openapi3.T
	seen map[string]bool
	list []wsFrame
}

func (s *frameSet) message(msg asyncMessage) (wsMessage, error) {
	m := wsMessage{Name: msg.Name, Title: msg.Title, Summary: msg.Summary, Description: markdown(msg.Description), ContentType: msg.ContentType}
	if m.ContentType == "" {
		m.ContentType = "application/json"
	}
	for _, ex := range msg.Examples {
		var text string
		if s, ok := ex.Payload.(string); ok && m.ContentType == "text/plain" {
			text = s
		} else {
			b, err := json.MarshalIndent(ex.Payload, "", "  ")
			if err != nil {
				return m, fmt.Errorf("example %s: %w", ex.Name, err)
			}
			text = string(b)
		}
		m.Examples = append(m.Examples, wsExample{Name: ex.Name, Summary: ex.Summary, JSON: text})
	}
	schema := msg.Payload
	if inner, ok := msg.Payload["schema"].(map[string]any); ok {
		schema = inner
	}
	r, _ := schema["$ref"].(string)
	if r == "" {
		return m, nil // an inline payload, such as a plain text frame
	}
	_, name, ok := strings.Cut(r, schemaPrefix)
	if !ok {
		return m, fmt.Errorf("payload %s is not an openapi.yaml schema", r)
	}
	sr := s.spec.Components.Schemas[name]
	if sr == nil {
		return m, fmt.Errorf("payload %s: no such schema", r)
	}
	if len(sr.Value.OneOf) == 0 {
		m.Frames = []wsMember{{Schema: name}}
		return m, s.add(name)
	}
	m.Union = name
	types := map[string]string{} // schema → discriminator value
	if d := sr.Value.Discriminator; d != nil {
		for v, target := range d.Mapping {
			types[strings.TrimPrefix(target.Ref, schemaPrefix)] = v
		}
	}
	for _, member := range sr.Value.OneOf {
		mn := strings.TrimPrefix(member.Ref, schemaPrefix)
		m.Frames = append(m.Frames, wsMember{Type: types[mn], Schema: mn})
		if err := s.add(mn); err != nil {
			return m, err
		}
	}
	return m, nil
}

// add describes schema name, and the object schemas its properties name.
func (s *frameSet) add(name string) error {
	if s.seen[name] {
		return nil
	}
	s.seen[name] = true
	sr := s.spec.Components.Schemas[name]
	if sr == nil {
		return fmt.Errorf("no schema %s", name)
	}
	v := sr.Value
	f := wsFrame{Name: name, Title: v.Title, Description: markdown(v.Description)}
	if v.Example != nil {
		b, err := json.MarshalIndent(v.Example, "", "  ")
		if err != nil {
			return fmt.Errorf("%s example: %w", name, err)
		}
		f.Example = string(b)
	}
	var nested []string
	for _, pn := range propertyOrder(v) {
		p := v.Properties[pn]
		prop := wsProperty{Name: pn, Type: typeOf(p), Required: slices.Contains(v.Required, pn), Description: markdown(p.Value.Description)}
		target := p
		if p.Value.Items != nil {
			target = p.Value.Items
		}
		if target.Ref != "" && target.Value.Type.Is(openapi3.TypeObject) {
			prop.Link = strings.TrimPrefix(target.Ref, schemaPrefix)
			nested = append(nested, prop.Link)
		}
		f.Properties = append(f.Properties, prop)
	}
	s.list = append(s.list, f)
	for _, n := range nested {
		if err := s.add(n); err != nil {
			return err
		}
	}
	return nil
}

// propertyOrder lists type first, then the required properties in their
// order, then the others by name.
func propertyOrder(v *openapi3.Schema) []string {
	var out []string
	if _, ok := v.Properties["type"]; ok {
		out = append(out, "type")
	}
	for _, r := range v.Required {
		if r != "type" {
			if _, ok := v.Properties[r]; ok {
				out = append(out, r)
			}
		}
	}
	var rest []string
	for n := range v.Properties {
		if !slices.Contains(out, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// typeOf describes a property's schema in a few words.
func typeOf(p *openapi3.SchemaRef) string {
	v := p.Value
	var t string
	switch {
	case v.Type.Is(openapi3.TypeArray) && v.Items != nil:
		t = "array of " + typeOf(v.Items)
	case p.Ref != "" && v.Type.Is(openapi3.TypeObject):
		t = strings.TrimPrefix(p.Ref, schemaPrefix)
	case v.Type != nil && len(v.Type.Slice()) > 0:
		t = strings.Join(v.Type.Slice(), " or ")
		if v.Format != "" {
			t += " (" + v.Format + ")"
		}
	default:
		t = "any"
	}
	if len(v.Enum) > 0 {
		var vals []string
		for _, e := range v.Enum {
			b, _ := json.Marshal(e)
			vals = append(vals, string(b))
		}
		t += ": " + strings.Join(vals, " | ")
	}
	if v.Min != nil || v.Max != nil {
		lo, hi := "", ""
		if v.Min != nil {
			lo = fmt.Sprint(int64(*v.Min))
		}
		if v.Max != nil {
			hi = fmt.Sprint(int64(*v.Max))
		}
		if len(v.Enum) == 0 {
			t += ", " + lo + "…" + hi
		}
	}
	if v.MaxLength != nil {
		t += fmt.Sprintf(", at most %d characters", *v.MaxLength)
	}
	return t
}

// markdown renders the small subset of Markdown the contract's descriptions
// use: headings, paragraphs, bullet lists, tables and `code`.
func markdown(src string) template.HTML {
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(src, "\n"), "\n")
	inline := func(s string) string {
		parts := strings.Split(s, "`")
		for i := range parts {
			parts[i] = template.HTMLEscapeString(parts[i])
			if i%2 == 1 {
				parts[i] = "<code>" + parts[i] + "</code>"
			}
		}
		return strings.Join(parts, "")
	}
	for i := 0; i < len(lines); {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			i++
		case strings.HasPrefix(trimmed, "#"):
			level := len(trimmed) - len(strings.TrimLeft(trimmed, "#"))
			h := min(max(level, 2), 6) // the page's own title is the only h1
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", h, inline(strings.TrimSpace(trimmed[level:])), h)
			i++
		case strings.HasPrefix(trimmed, "|"):
			b.WriteString("<table>\n")
			header := true
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
				cells := strings.Split(strings.Trim(strings.TrimSpace(lines[i]), "|"), "|")
				if strings.Trim(strings.Join(cells, ""), "-: ") == "" {
					continue // the separator row
				}
				tag := "td"
				if header {
					tag = "th"
				}
				b.WriteString("<tr>")
				for _, c := range cells {
					fmt.Fprintf(&b, "<%s>%s</%s>", tag, inline(strings.TrimSpace(c)), tag)
				}
				b.WriteString("</tr>\n")
				header = false
			}
			b.WriteString("</table>\n")
		case strings.HasPrefix(trimmed, "- "):
			b.WriteString("<ul>\n")
			for i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "- ") {
				item := strings.TrimPrefix(strings.TrimSpace(lines[i]), "- ")
				for i++; i < len(lines) && strings.HasPrefix(lines[i], "  ") && !strings.HasPrefix(strings.TrimSpace(lines[i]), "- "); i++ {
					item += " " + strings.TrimSpace(lines[i])
				}
				fmt.Fprintf(&b, "<li>%s</li>\n", inline(item))
			}
			b.WriteString("</ul>\n")
		default:
			var para []string
			for ; i < len(lines); i++ {
				t := strings.TrimSpace(lines[i])
				if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "|") || strings.HasPrefix(t, "- ") {
					break
				}
				para = append(para, t)
			}
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(strings.Join(para, " ")))
		}
	}
	return template.HTML(b.String())
}

var wsTemplate = template.Must(template.New("websocket").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.55 -apple-system, "Segoe UI", Roboto, "Noto Sans", "PingFang SC", "Microsoft YaHei", sans-serif; color: #222; margin: 0; }
nav { font-size: 14px; padding: 8px 16px; background: #f4f4f4; border-bottom: 1px solid #ddd; }
main { max-width: 60em; margin: 0 auto; padding: 1em 1.5em 4em; }
h1 { margin-bottom: 0; } .version { color: #666; margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.6em; } h4 { margin-bottom: .3em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
code { background: #f4f4f4; padding: 0 .25em; border-radius: 3px; }
pre { background: #f7f7f9; border: 1px solid #e4e4e8; padding: .7em 1em; overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; margin: .6em 0; } th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #fafafa; }
.address { font-size: 1.05em; } .dir { display: inline-block; font-size: 12px; padding: 0 .5em; border-radius: 3px; background: #e8f0fe; color: #1a56c4; }
.dir.client { background: #e9f7ef; color: #1e7a46; } .req { color: #b3261e; font-size: 12px; }
.channel, .frame { margin-top: 2.2em; }
</style>
</head>
<body>
<nav><a href="/">Tim</a> · <a href="/docs">HTTP API</a> · WebSocket channels · <a href="/asyncapi.yaml">asyncapi.yaml</a> · <a href="/openapi.yaml">openapi.yaml</a></nav>
<main>
<h1>{{.Title}}</h1>
<p class="version">version {{.Version}} · generated from asyncapi.yaml</p>
<p>Channels: {{range $i, $c := .Channels}}{{if $i}}, {{end}}<a href="#channel-{{$c.ID}}"><code>{{$c.Address}}</code></a>{{end}}. Frames: {{range $i, $f := .Frames}}{{if $i}}, {{end}}<a href="#{{$f.Name}}">{{$f.Name}}</a>{{end}}.</p>
{{.Description}}
<h2>Close codes</h2>
<table><tr><th>code</th><th>meaning</th></tr>
{{range .CloseCodes}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>
{{end}}</table>
<h2>Channels</h2>
{{range .Channels}}<section class="channel" id="channel-{{.ID}}">
<h3>{{.ID}}: <code class="address">{{.Address}}</code></h3>
{{if .Title}}<p><strong>{{.Title}}</strong></p>{{end}}
{{.Description}}
{{if .Parameters}}<table><tr><th>parameter</th><th>meaning</th></tr>
{{range .Parameters}}<tr><td><code>{{index . 0}}</code></td><td>{{index . 1}}</td></tr>
{{end}}</table>{{end}}
{{range .Messages}}<h4><span class="dir{{if eq .Direction "client → server"}} client{{end}}">{{.Direction}}</span> {{.Name}}{{if .Title}} · {{.Title}}{{end}}</h4>
{{if .Summary}}<p>{{.Summary}}</p>{{end}}{{.Description}}
{{if .Union}}<p>One of the tagged union <code>{{.Union}}</code>, told apart by <code>type</code>:</p>
<table><tr><th><code>type</code></th><th>frame</th></tr>
{{range .Frames}}<tr><td><code>{{.Type}}</code></td><td><a href="#{{.Schema}}">{{.Schema}}</a></td></tr>
{{end}}</table>{{else if .Frames}}<p>Payload: {{range .Frames}}<a href="#{{.Schema}}">{{.Schema}}</a>{{end}} ({{.ContentType}})</p>{{else}}<p>Payload: {{.ContentType}}</p>{{end}}
{{range .Examples}}<p>Example <em>{{.Name}}</em>{{if .Summary}}: {{.Summary}}{{end}}</p>
<pre>{{.JSON}}</pre>
{{end}}{{end}}</section>
{{end}}
<h2>Frames</h2>
{{range .Frames}}<section class="frame" id="{{.Name}}">
<h3>{{.Name}}</h3>
{{.Description}}
<table><tr><th>field</th><th>type</th><th></th><th>meaning</th></tr>
{{range .Properties}}<tr><td><code>{{.Name}}</code></td><td>{{if .Link}}<a href="#{{.Link}}">{{.Type}}</a>{{else}}{{.Type}}{{end}}</td><td>{{if .Required}}<span class="req">required</span>{{end}}</td><td>{{.Description}}</td></tr>
{{end}}</table>
{{if .Example}}<p>Example:</p>
<pre>{{.Example}}</pre>{{end}}
</section>
{{end}}
</main>
</body>
</html>
`))
