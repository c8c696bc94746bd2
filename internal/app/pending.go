package app

import (
	"context"
	"errors"

	"tim/gen/api"
)

// pending answers operations whose service is not wired yet.
// TODO(lead): remove once media and realtime are wired.
type pending struct{}

var errPending = errors.New("not wired yet")

func (pending) GetAvatar(context.Context, api.GetAvatarRequestObject) (api.GetAvatarResponseObject, error) {
	return nil, errPending
}
func (pending) DownloadChatPic(context.Context, api.DownloadChatPicRequestObject) (api.DownloadChatPicResponseObject, error) {
	return nil, errPending
}
func (pending) DownloadMp3(context.Context, api.DownloadMp3RequestObject) (api.DownloadMp3ResponseObject, error) {
	return nil, errPending
}
func (pending) DownloadMp4(context.Context, api.DownloadMp4RequestObject) (api.DownloadMp4ResponseObject, error) {
	return nil, errPending
}
func (pending) UploadChatPic(context.Context, api.UploadChatPicRequestObject) (api.UploadChatPicResponseObject, error) {
	return nil, errPending
}
func (pending) UploadHeadPic(context.Context, api.UploadHeadPicRequestObject) (api.UploadHeadPicResponseObject, error) {
	return nil, errPending
}
func (pending) UploadMp3(context.Context, api.UploadMp3RequestObject) (api.UploadMp3ResponseObject, error) {
	return nil, errPending
}
func (pending) UploadMp4(context.Context, api.UploadMp4RequestObject) (api.UploadMp4ResponseObject, error) {
	return nil, errPending
}
