package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// Medium is one stored upload: its name, kind and owner, and the blob
// (content addressed by SHA256) holding its bytes.
type Medium struct {
	Name        string
	Kind        string // avatar, chatpic, mp3 or mp4
	Owner       string
	Size        int64
	ContentType string // sniffed at upload
	SHA256      string // the blob's key
	CreatedAt   time.Time
	// Width and Height: a picture's dimensions in pixels as shown, read at
	// upload; 0 when unknown or not a picture.
	Width, Height int32
}

func mediumFromRow(r db.Medium) Medium {
	return Medium{
		Name: r.Name, Kind: r.Kind, Owner: r.Owner, Size: r.Size,
		ContentType: r.ContentType, SHA256: r.Sha256, CreatedAt: r.CreatedAt.Time,
		Width: deref(r.Width), Height: deref(r.Height),
	}
}

// MediaInsert records m; its dimensions only when both are known.
func (q *Queries) MediaInsert(ctx context.Context, m Medium) error {
	arg := db.MediaInsertParams{
		Name: m.Name, Kind: m.Kind, Owner: m.Owner, Size: m.Size,
		ContentType: m.ContentType, Sha256: m.SHA256, CreatedAt: timestamptz(m.CreatedAt),
	}
	if m.Width > 0 && m.Height > 0 {
		arg.Width, arg.Height = &m.Width, &m.Height
	}
	return interpretError(q.q.MediaInsert(ctx, arg))
}

// MediaGetByNameAndKind returns the media called name if it is of kind;
// ErrNotFound otherwise.
func (q *Queries) MediaGetByNameAndKind(ctx context.Context, name, kind string) (Medium, error) {
	r, err := q.q.MediaGetByNameAndKind(ctx, db.MediaGetByNameAndKindParams{Name: name, Kind: kind})
	if err != nil {
		return Medium{}, interpretError(err)
	}
	return mediumFromRow(r), nil
}

// MediaGetForDownload returns the media called name if it is of kind
// (ErrNotFound otherwise), and whether it is revoked for account: recalled
// with a message, carried by no other message that is not recalled, and
// not account's own upload.
func (q *Queries) MediaGetForDownload(ctx context.Context, name, kind, account string) (m Medium, revoked bool, err error) {
	r, err := q.q.MediaGetForDownload(ctx, db.MediaGetForDownloadParams{Name: name, Kind: kind, Account: account})
	if err != nil {
		return Medium{}, false, interpretError(err)
	}
	return mediumFromRow(db.Medium{
		Name: r.Name, Kind: r.Kind, Owner: r.Owner, Size: r.Size, ContentType: r.ContentType,
		Sha256: r.Sha256, CreatedAt: r.CreatedAt, Width: r.Width, Height: r.Height,
	}), r.Revoked, nil
}

// MediaDeleteByName removes the media called name and returns the key of
// the blob it referred to.
func (q *Queries) MediaDeleteByName(ctx context.Context, name string) (sha256 string, err error) {
	sha256, err = q.q.MediaDeleteByName(ctx, name)
	return sha256, interpretError(err)
}

// MediaCountBySHA256 returns how many media refer to blob sha256.
func (q *Queries) MediaCountBySHA256(ctx context.Context, sha256 string) (int64, error) {
	n, err := q.q.MediaCountBySHA256(ctx, sha256)
	return n, interpretError(err)
}

// MediaLockSHA256 serialises, until the transaction ends, everything that
// adds or drops a reference to blob sha256.
func (q *Queries) MediaLockSHA256(ctx context.Context, sha256 string) error {
	return interpretError(q.q.MediaLockSHA256(ctx, sha256))
}

// AvatarInsertIfAbsent makes media mediaName account's first avatar;
// inserted is false when the account has one already.
func (q *Queries) AvatarInsertIfAbsent(ctx context.Context, account, mediaName string) (inserted bool, err error) {
	n, err := q.q.AvatarInsertIfAbsent(ctx, db.AvatarInsertIfAbsentParams{Account: account, MediaName: mediaName})
	return n > 0, interpretError(err)
}

// AvatarGetNameForUpdate returns the media name of account's avatar,
// locked until the transaction ends.
func (q *Queries) AvatarGetNameForUpdate(ctx context.Context, account string) (string, error) {
	name, err := q.q.AvatarGetNameForUpdate(ctx, account)
	return name, interpretError(err)
}

// AvatarUpdate points account's avatar at media mediaName.
func (q *Queries) AvatarUpdate(ctx context.Context, account, mediaName string) error {
	return interpretError(q.q.AvatarUpdate(ctx, db.AvatarUpdateParams{Account: account, MediaName: mediaName}))
}

// AvatarGetByAccount returns the media of account's avatar; ErrNotFound
// when it has none.
func (q *Queries) AvatarGetByAccount(ctx context.Context, account string) (Medium, error) {
	r, err := q.q.AvatarGetByAccount(ctx, account)
	if err != nil {
		return Medium{}, interpretError(err)
	}
	return mediumFromRow(r), nil
}
