package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tim/internal/reply"
)

// envelope is the body of every JSON response: code equals the HTTP status.
type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// Messages for errors raised outside the handlers.
const (
	msgNoToken        = "未登录，请先登录"
	msgBadToken       = "token无效，请重新登录"
	msgExpiredToken   = "token已过期，请重新登录"
	msgRevokedToken   = "token已失效，请重新登录"
	msgNotFound       = "接口不存在"
	msgMethod         = "请求方法不支持"
	msgMediaType      = "不支持的内容类型"
	msgBadJSON        = "请求体不是合法的JSON"
	msgBodyTimeout    = "请求体发送超时"
	msgNoBoundary     = "缺少multipart的boundary参数"
	msgInternal       = "服务器内部错误"
	msgUnavailable    = "数据库不可用"
	msgBusUnavailable = "实例间消息总线不可用"
	msgOK             = "ok"
	msgBadRequest     = "请求参数错误"
	msgParamInvalid   = "参数%s不合法：%s"
	msgFieldInvalid   = "字段%s不合法：%s"
	msgFieldMissing   = "缺少字段%s"
	msgParamMissing   = "缺少参数%s"
)

// writeRefusal writes refusal r in the envelope.
func writeRefusal(c echo.Context, r reply.Refusal) error {
	return writeEnvelope(c, int(r.Code), r.Message)
}

// writeEnvelope writes an envelope with HTTP status code.
func writeEnvelope(c echo.Context, code int, message string) error {
	if c.Response().Committed {
		return nil
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(code)
	}
	return c.JSON(code, envelope{Code: code, Message: message})
}
