package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"tim/internal/auth"
	"tim/internal/reply"
)

// validator checks every request that the contract describes against it:
// security, parameters and JSON bodies. Multipart bodies are streamed to
// their handlers unread, after their media type is checked. Requests the
// contract does not describe (WebSockets, metrics) pass through.
type validator struct {
	router      routers.Router
	maxJSONBody int64
	// maxMultipartBody bounds a whole multipart body; each handler applies
	// its own, smaller limit to the file it streams.
	maxMultipartBody int64
}

func (v *validator) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		route, params, err := v.router.FindRoute(req)
		switch {
		case errors.Is(err, routers.ErrMethodNotAllowed):
			return writeRefusal(c, reply.MethodNotAllowed)
		case err != nil:
			return next(c) // not part of the contract
		}

		multipart, boundary := false, ""
		if rb := route.Operation.RequestBody; rb != nil && rb.Value != nil {
			var mt string
			mt, boundary = mediaTypeAndBoundary(req.Header.Get(echo.HeaderContentType))
			// An empty body of an operation whose body is optional is no
			// body, whatever Content-Type came with it: a client of the
			// original document may POST addFriend with a form type and
			// nothing in it.
			if req.ContentLength != 0 || (mt != "" && rb.Value.Required) {
				if _, ok := rb.Value.Content[mt]; !ok { // exactly a declared media type
					return writeRefusal(c, reply.UnsupportedMediaType)
				}
			}
			multipart = strings.HasPrefix(mt, "multipart/")
			limit := v.maxJSONBody
			if multipart {
				limit = v.maxMultipartBody
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		}

		input := &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options: &openapi3filter.Options{
				ExcludeRequestBody: multipart,
				AuthenticationFunc: authenticate,
				KeepValidatedValue: true,
			},
		}
		// kin-openapi reads the whole body before it checks security
		// requirements, even with ExcludeRequestBody; a multipart body must
		// stay unread so that its handler can stream it.
		body := req.Body
		if multipart {
			req.Body = http.NoBody
		}
		err = openapi3filter.ValidateRequest(req.Context(), input)
		if err != nil {
			if multipart {
				req.Body = body
			}
			return writeRefusal(c, validationRefusal(err))
		}
		if !multipart {
			return next(c)
		}
		if boundary == "" {
			return writeRefusal(c, reply.NoBoundary)
		}
		// The multipart reader reads through a 4 KiB buffer, which would
		// cost a system call per 4 KiB of upload; a larger buffer in front
		// lets each read take what the socket holds.
		br := uploadBuffers.Get().(*bufio.Reader)
		br.Reset(body)
		req.Body = bufferedBody{Reader: br, Closer: body}
		defer func() {
			br.Reset(nil)
			uploadBuffers.Put(br)
		}()
		return next(c)
	}
}

// uploadBuffers hold the read buffers of multipart bodies in flight.
var uploadBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 128<<10) }}

// bufferedBody reads a request body through a buffer and closes the body.
type bufferedBody struct {
	io.Reader
	io.Closer
}

func mediaType(header string) string {
	mt, _ := mediaTypeAndBoundary(header)
	return mt
}

// mediaTypeAndBoundary parses a Content-Type: its media type, "" when there
// is none and invalid/invalid when it does not parse, and its boundary
// parameter.
func mediaTypeAndBoundary(header string) (mediaType, boundary string) {
	if header == "" {
		return "", ""
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return "invalid/invalid", ""
	}
	return mt, params["boundary"]
}

// authenticate accepts a security scheme when the auth middleware verified a
// token from the place that scheme names.
func authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	st := authStateFrom(in.RequestValidationInput.Request.Context())
	if st.err != nil {
		return st.err
	}
	want := map[string]auth.Source{"tokenHeader": auth.SourceHeader, "bearer": auth.SourceBearer, "tokenQuery": auth.SourceQuery}[in.SecuritySchemeName]
	if st.source != want {
		return auth.ErrNoToken
	}
	return nil
}

// validationRefusal turns a validation error into the refusal that names
// the offending parameter or field.
func validationRefusal(err error) reply.Refusal {
	var sec *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sec) {
		if r, ok := auth.Refusal(errors.Join(sec.Errors...)); ok {
			return r
		}
		return reply.NoToken
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return reply.BodyTooLarge
	}
	if isBodyTimeout(err) {
		return reply.BodyTimeout
	}
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return reply.BadRequest
	}
	var se *openapi3.SchemaError
	hasSchemaErr := errors.As(err, &se)
	if p := re.Parameter; p != nil {
		if errors.Is(err, openapi3filter.ErrInvalidRequired) {
			return reply.MissingParameter(p.Name)
		}
		reason := re.Reason
		if hasSchemaErr {
			reason = se.Reason
		}
		if reason == "" {
			reason = parseReason(err, p)
		}
		return reply.BadParameter(p.Name, reason)
	}
	if re.RequestBody != nil {
		if errors.Is(err, openapi3filter.ErrInvalidRequired) {
			return reply.NoBody
		}
		if hasSchemaErr {
			field := strings.Join(se.JSONPointer(), ".")
			if se.SchemaField == "required" {
				// The pointer already ends with the missing property.
				if field == "" {
					field = missingProperty(se.Reason)
				}
				return reply.MissingField(field)
			}
			if field == "" {
				field = "body"
			}
			return reply.BadField(field, se.Reason)
		}
		var syn *json.SyntaxError
		var ute *json.UnmarshalTypeError
		var pe *openapi3filter.ParseError
		if errors.As(err, &syn) || errors.As(err, &ute) || errors.As(err, &pe) {
			return reply.BadJSON
		}
		return reply.BadJSON
	}
	return reply.BadRequest
}

// missingProperty extracts x from kin-openapi's `property "x" is missing`.
func missingProperty(reason string) string {
	i := strings.Index(reason, `"`)
	j := strings.LastIndex(reason, `"`)
	if i < 0 || j <= i {
		return ""
	}
	return reason[i+1 : j]
}

// parseReason says what is wrong with a parameter value that did not even
// parse as its schema's type (GroupID=abc), for which kin-openapi gives no
// reason of its own.
func parseReason(err error, p *openapi3.Parameter) string {
	var s *openapi3.Schema
	if p.Schema != nil {
		s = p.Schema.Value
	}
	switch {
	case s != nil && s.Type.Is(openapi3.TypeInteger) && s.Min != nil && s.Max != nil:
		return fmt.Sprintf("须为%d到%d之间的整数", int64(*s.Min), int64(*s.Max))
	case s != nil && s.Type.Is(openapi3.TypeInteger):
		return "须为整数"
	case s != nil && s.Type.Is(openapi3.TypeNumber):
		return "须为数字"
	case s != nil && s.Type.Is(openapi3.TypeBoolean):
		return "须为true或false"
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) && pe.Reason != "" {
		return pe.Reason
	}
	return "格式不正确"
}
