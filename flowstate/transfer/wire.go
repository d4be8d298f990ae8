package transfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/topology"
)

// Protocol constants.
const (
	// DefaultPort is the TCP port of the service (hivenet's choice).
	DefaultPort = 6689
	// MaxFrame bounds one frame's message: the server splits larger
	// messages into parts that fit.
	MaxFrame = 64 << 10

	version     = 1
	versionAuth = 2
	opFetch     = 1
	requestSize = 24
	replySize   = 8
)

// Reply statuses.
const (
	statusOK          = 0
	statusUnavailable = 1
	statusBadRequest  = 2
	statusBusy        = 3
	// statusUnauthorized: the request's MAC did not verify (or the
	// server takes only authenticated requests).
	statusUnauthorized = 4
)

var magic = [4]byte{'H', 'V', 'S', 'T'}

// Errors.
var (
	// ErrProtocol: the peer sent something that is not this protocol.
	ErrProtocol = errors.New("flowstate/transfer: protocol error")
	// ErrIncomplete: the stream ended before its end frame; the messages
	// received before were delivered.
	ErrIncomplete = errors.New("flowstate/transfer: transfer incomplete")
	// ErrUnavailable: the server has no store to serve, or its store
	// failed.
	ErrUnavailable = errors.New("flowstate/transfer: state unavailable on the peer")
	// ErrBusy: the server is serving as many transfers as it allows.
	ErrBusy = errors.New("flowstate/transfer: peer busy")
	// ErrTooLarge: the transfer exceeded Client.MaxBytes.
	ErrTooLarge = errors.New("flowstate/transfer: transfer exceeds the size limit")
	// ErrUnauthorized: a request or a frame failed authentication (the
	// error wraps flowstate/auth's reason), or the peer refused ours.
	ErrUnauthorized = errors.New("flowstate/transfer: authentication failed")
)

func appendRequest(b []byte, port topology.ID) []byte {
	b = append(b, magic[:]...)
	b = append(b, version, opFetch, 0, 0)
	return append(b, port[:]...)
}

// parseRequest decodes a request.
func parseRequest(b []byte) (topology.ID, error) {
	if len(b) != requestSize {
		return topology.ID{}, fmt.Errorf("%w: request of %d bytes, want %d", ErrProtocol, len(b), requestSize)
	}
	if [4]byte(b[:4]) != magic || b[4] != version || b[5] != opFetch || b[6]|b[7] != 0 {
		return topology.ID{}, fmt.Errorf("%w: bad request header % x", ErrProtocol, b[:8])
	}
	return topology.ID(b[8:24]), nil
}

func reply(status byte) []byte { return replyV(version, status) }

func replyV(v, status byte) []byte {
	return []byte{magic[0], magic[1], magic[2], magic[3], v, status, 0, 0}
}

// readResponse reads a reply and its frames from r, calling fn with each
// message (reused between calls), and stops after maxBytes of frames. With
// a session, every frame (the end frame too) must carry a valid MAC bound
// to the session's request. It returns the number of messages and bytes
// delivered.
func readResponse(r *bufio.Reader, maxBytes int64, sess *session, fn func(*flowstate.Message) error) (msgs int, bytes int64, err error) {
	var hdr [replySize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, fmt.Errorf("%w: no reply: %w", ErrIncomplete, err)
	}
	v, trailer := byte(version), 0
	if sess != nil {
		v, trailer = versionAuth, auth.Overhead
	}
	if [4]byte(hdr[:4]) != magic || hdr[4] != v || hdr[6]|hdr[7] != 0 {
		return 0, 0, fmt.Errorf("%w: bad reply header % x", ErrProtocol, hdr)
	}
	switch hdr[5] {
	case statusOK:
	case statusUnavailable:
		return 0, 0, ErrUnavailable
	case statusBusy:
		return 0, 0, ErrBusy
	case statusBadRequest:
		return 0, 0, fmt.Errorf("%w: the peer refused the request", ErrProtocol)
	case statusUnauthorized:
		return 0, 0, fmt.Errorf("%w: the peer refused the request's credentials", ErrUnauthorized)
	default:
		return 0, 0, fmt.Errorf("%w: unknown status %d", ErrProtocol, hdr[5])
	}
	buf := make([]byte, 0, 4096)
	var msg flowstate.Message
	lb := make([]byte, 4)
	for {
		if _, err := io.ReadFull(r, lb); err != nil {
			return msgs, bytes, fmt.Errorf("%w after %d messages: %w", ErrIncomplete, msgs, err)
		}
		n := binary.LittleEndian.Uint32(lb)
		if n > MaxFrame {
			return msgs, bytes, fmt.Errorf("%w: frame of %d bytes (at most %d)", ErrProtocol, n, MaxFrame)
		}
		if bytes+int64(n) > maxBytes {
			return msgs, bytes, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
		}
		if cap(buf) < int(n)+trailer {
			buf = make([]byte, int(n)+trailer)
		}
		buf = buf[:int(n)+trailer]
		if _, err := io.ReadFull(r, buf); err != nil {
			return msgs, bytes, fmt.Errorf("%w after %d messages: %w", ErrIncomplete, msgs, err)
		}
		payload := buf
		if sess != nil {
			if payload, err = sess.open(buf); err != nil {
				return msgs, bytes, fmt.Errorf("%w: frame %d: %w", ErrUnauthorized, msgs, err)
			}
		}
		if n == 0 {
			return msgs, bytes, nil
		}
		bytes += int64(n)
		// A version-1 frame is one message; a version-2 frame, messages
		// laid end to end.
		for len(payload) > 0 {
			size := len(payload)
			if sess != nil {
				if size, err = flowstate.EncodedSize(payload); err != nil {
					return msgs, bytes, fmt.Errorf("%w: after message %d: %w", ErrProtocol, msgs, err)
				}
			}
			if err := msg.UnmarshalBinary(payload[:size]); err != nil {
				return msgs, bytes, fmt.Errorf("%w: message %d: %w", ErrProtocol, msgs, err)
			}
			msgs++
			if err := fn(&msg); err != nil {
				return msgs, bytes, err
			}
			payload = payload[size:]
		}
	}
}
