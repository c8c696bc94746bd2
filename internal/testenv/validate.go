package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"tim/gen/server"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func loadSpec() {
	specOnce.Do(func() {
		var doc *openapi3.T
		doc, specErr = server.GetSwagger()
		if specErr != nil {
			return
		}
		doc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(doc)
		// Binary responses are checked for status and headers; their bytes
		// are the tests' business.
		for _, ct := range []string{"image/jpeg", "image/png", "image/bmp", "audio/mpeg", "video/mp4"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
	})
}

// validatingTransport fails the test when a response does not match the
// contract: an undeclared status, a wrong content type, or a body that does
// not match its schema.
type validatingTransport struct {
	t    testing.TB
	next http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	if err := validateResponse(req, res); err != nil {
		v.t.Errorf("%s %s: response breaks the contract: %v", req.Method, req.URL.RequestURI(), err)
	}
	return res, nil
}

// validateResponse checks res against the contract's operation for req. The
// body is read and replaced, so the caller can still read it. Requests that
// the contract does not describe are not checked.
func validateResponse(req *http.Request, res *http.Response) error {
	loadSpec()
	if specErr != nil {
		return specErr
	}
	route, params, err := specRouter.FindRoute(req)
	if err != nil {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return fmt.Errorf("status %d body %.300q: %w", res.StatusCode, body, err)
	}
	return nil
}
