package wstest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"tim/api"
)

// channel is one channel of the AsyncAPI document and the schemas of the
// frames the server sends on it.
type channel struct {
	name     string
	address  []string         // path segments; "{…}" matches any one
	union    *openapi3.Schema // the server frames' oneOf
	byType   map[string]*openapi3.Schema
	unionRef string
}

var (
	loadOnce sync.Once
	channels []*channel
	loadErr  error
	// visitMu serialises schema checks: the readers of many sockets check
	// frames at once, and the schemas are shared.
	visitMu sync.Mutex
)

// asyncDoc is the part of the AsyncAPI document the client reads.
type asyncDoc struct {
	Channels map[string]struct {
		Address  string `yaml:"address"`
		Messages map[string]struct {
			Ref string `yaml:"$ref"`
		} `yaml:"messages"`
	} `yaml:"channels"`
	Operations map[string]struct {
		Action  string `yaml:"action"`
		Channel struct {
			Ref string `yaml:"$ref"`
		} `yaml:"channel"`
		Messages []struct {
			Ref string `yaml:"$ref"`
		} `yaml:"messages"`
	} `yaml:"operations"`
	Components struct {
		Messages map[string]struct {
			Payload struct {
				Schema struct {
					Ref string `yaml:"$ref"`
				} `yaml:"schema"`
			} `yaml:"payload"`
		} `yaml:"messages"`
	} `yaml:"components"`
}

// load reads the server frames of every channel from the embedded
// documents: for each operation the server sends, its channel's message,
// that message's payload schema in openapi.yaml, and the discriminator
// mapping from type to frame schema.
func load() ([]*channel, error) {
	spec, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	schema := func(ref string) (*openapi3.Schema, error) {
		_, name, ok := strings.Cut(ref, "#/components/schemas/")
		if !ok || spec.Components.Schemas[name] == nil {
			return nil, fmt.Errorf("no schema %q in openapi.yaml", ref)
		}
		return spec.Components.Schemas[name].Value, nil
	}
	var doc asyncDoc
	if err := yaml.Unmarshal(api.AsyncAPI, &doc); err != nil {
		return nil, fmt.Errorf("load asyncapi.yaml: %w", err)
	}
	var out []*channel
	for opName, op := range doc.Operations {
		if op.Action != "send" {
			continue // the client's frames
		}
		chName := strings.TrimPrefix(op.Channel.Ref, "#/channels/")
		ch, ok := doc.Channels[chName]
		if !ok || len(op.Messages) != 1 {
			return nil, fmt.Errorf("asyncapi.yaml: operation %s: want one message of a known channel", opName)
		}
		msgName := strings.TrimPrefix(op.Messages[0].Ref, "#/channels/"+chName+"/messages/")
		compName := strings.TrimPrefix(ch.Messages[msgName].Ref, "#/components/messages/")
		comp, ok := doc.Components.Messages[compName]
		if !ok {
			return nil, fmt.Errorf("asyncapi.yaml: operation %s: no message %q", opName, compName)
		}
		union, err := schema(comp.Payload.Schema.Ref)
		if err != nil {
			return nil, fmt.Errorf("asyncapi.yaml: channel %s: %w", chName, err)
		}
		if union.Discriminator == nil || union.Discriminator.PropertyName != "type" {
			return nil, fmt.Errorf("%s: the server frames are not told apart by type", comp.Payload.Schema.Ref)
		}
		c := &channel{name: chName, address: strings.Split(strings.Trim(ch.Address, "/"), "/"), union: union, unionRef: comp.Payload.Schema.Ref, byType: map[string]*openapi3.Schema{}}
		for typ, ref := range union.Discriminator.Mapping {
			if c.byType[typ], err = schema(ref.Ref); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("asyncapi.yaml: no operation the server sends")
	}
	return out, nil
}

// channelOf returns the channel whose address path matches.
func channelOf(path string) (*channel, error) {
	loadOnce.Do(func() { channels, loadErr = load() })
	if loadErr != nil {
		return nil, loadErr
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var found *channel
	for _, c := range channels {
		if matches(c.address, segs) {
			if found != nil {
				return nil, fmt.Errorf("path %s matches channels %s and %s", path, found.name, c.name)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("path %s matches no channel of asyncapi.yaml", path)
	}
	return found, nil
}

func matches(pattern, segs []string) bool {
	if len(pattern) != len(segs) {
		return false
	}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if p != segs[i] {
			return false
		}
	}
	return true
}

// validate checks a server frame against the channel's union and against
// the schema its type selects.
func (c *channel) validate(v map[string]any) error {
	typ, _ := v["type"].(string)
	s, ok := c.byType[typ]
	if !ok {
		return fmt.Errorf("frame %v: type %q is not a server frame of channel %s", v, v["type"], c.name)
	}
	visitMu.Lock()
	defer visitMu.Unlock()
	if err := s.VisitJSON(v); err != nil {
		return fmt.Errorf("frame %v does not match its schema: %w", v, err)
	}
	if err := c.union.VisitJSON(v); err != nil {
		return fmt.Errorf("frame %v does not match %s: %w", v, c.unionRef, err)
	}
	return nil
}
