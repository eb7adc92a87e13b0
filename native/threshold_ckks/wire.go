package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Every message starts with a fixed header: magic, format version, kind, and the digest
// that binds it (the task seed's digest for key material, the collective public key's
// digest for ciphertexts and decryption shares).
const (
	magic   = "FLTC"
	version = 2

	kindKeyShare        byte = 1 // a member's public-key generation share (public)
	kindShamirShare     byte = 2 // one member's Shamir share for one recipient (sealed)
	kindThresholdSecret byte = 3 // a member's aggregated t-of-n share (kept by it, sealed)
	kindPublicKey       byte = 4 // the collective public key (public)
	kindCiphertext      byte = 5 // an encrypted vector: masks and bodies (vector.go)
	kindDecryptionShare byte = 6 // a member's decryption share of one encrypted vector

	headerSize = len(magic) + 2 + sha256.Size
	// maxMembers bounds committee sizes and Shamir points.
	maxMembers = 1024
)

// header is the common prefix of every message.
type header struct {
	kind   byte
	digest [sha256.Size]byte
}

// reader consumes a message field by field and records the first error.
type reader struct {
	buf  *bytes.Reader
	what string
	err  error
}

func newReader(data []byte, kind byte, what string) (*reader, header, error) {
	var h header
	if len(data) < headerSize || string(data[:len(magic)]) != magic {
		return nil, h, malformed("%s: not a threshold CKKS message", what)
	}
	if data[len(magic)] != version {
		return nil, h, malformed("%s: format version %d, expected %d", what, data[len(magic)], version)
	}
	h.kind = data[len(magic)+1]
	if h.kind != kind {
		return nil, h, malformed("%s: message kind %d, expected %d", what, h.kind, kind)
	}
	copy(h.digest[:], data[len(magic)+2:headerSize])
	return &reader{buf: bytes.NewReader(data[headerSize:]), what: what}, h, nil
}

func (r *reader) u16() uint16 {
	var v uint16
	if r.err == nil && binary.Read(r.buf, binary.LittleEndian, &v) != nil {
		r.err = malformed("%s: truncated", r.what)
	}
	return v
}

func (r *reader) u32() uint32 {
	var v uint32
	if r.err == nil && binary.Read(r.buf, binary.LittleEndian, &v) != nil {
		r.err = malformed("%s: truncated", r.what)
	}
	return v
}

func (r *reader) u64() uint64 {
	var v uint64
	if r.err == nil && binary.Read(r.buf, binary.LittleEndian, &v) != nil {
		r.err = malformed("%s: truncated", r.what)
	}
	return v
}

func (r *reader) digest() (d [sha256.Size]byte) {
	if r.err == nil {
		if n, _ := r.buf.Read(d[:]); n != len(d) {
			r.err = malformed("%s: truncated", r.what)
		}
	}
	return d
}

// blob reads a length-prefixed byte string of at most limit bytes.
func (r *reader) blob(limit int) []byte {
	n := int(r.u32())
	if r.err != nil {
		return nil
	}
	if n > limit || n > r.buf.Len() {
		r.err = malformed("%s: field of %d bytes is too long", r.what, n)
		return nil
	}
	out := make([]byte, n)
	_, _ = r.buf.Read(out)
	return out
}

// rest returns the bytes not read yet.
func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	out := make([]byte, r.buf.Len())
	_, _ = r.buf.Read(out)
	return out
}

// done reports the first error, or an error if bytes are left over.
func (r *reader) done() error {
	if r.err == nil && r.buf.Len() != 0 {
		r.err = malformed("%s: %d trailing bytes", r.what, r.buf.Len())
	}
	return r.err
}

// writer builds a message with a header.
type writer struct{ buf bytes.Buffer }

func newWriter(kind byte, digest [sha256.Size]byte) *writer {
	w := &writer{}
	w.buf.WriteString(magic)
	w.buf.WriteByte(version)
	w.buf.WriteByte(kind)
	w.buf.Write(digest[:])
	return w
}

func (w *writer) u16(v uint16)               { _ = binary.Write(&w.buf, binary.LittleEndian, v) }
func (w *writer) u32(v uint32)               { _ = binary.Write(&w.buf, binary.LittleEndian, v) }
func (w *writer) u64(v uint64)               { _ = binary.Write(&w.buf, binary.LittleEndian, v) }
func (w *writer) digest(d [sha256.Size]byte) { w.buf.Write(d[:]) }
func (w *writer) blob(b []byte)              { w.u32(uint32(len(b))); w.buf.Write(b) }
func (w *writer) raw(b []byte)               { w.buf.Write(b) }
func (w *writer) bytes() []byte              { return w.buf.Bytes() }

// seedDigest binds key material to a task: the digest of its seed and parameter set.
func seedDigest(seed []byte) [sha256.Size]byte {
	return sha256.Sum256(append([]byte(ParameterSetName+"/seed-digest/"), seed...))
}

// crsKey keys the common random string: the same for every member of one task and
// independent of seedDigest, which travels in the clear.
func crsKey(seed []byte) []byte {
	key := sha256.Sum256(append([]byte(ParameterSetName+"/crs/"), seed...))
	return key[:]
}

// Errors carry a code that the Python bridge maps to an exception class.
const (
	codeMalformed    = 1
	codeMismatch     = 2
	codeInsufficient = 3
	codeArgument     = 4
	codeRefused      = 5
	codeInternal     = 9
)

type engineError struct {
	code int
	msg  string
}

func (e *engineError) Error() string { return e.msg }

// refused is a check a member's release failed: nothing was released.
func refused(format string, args ...any) error {
	return &engineError{codeRefused, fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) error {
	return &engineError{codeMalformed, fmt.Sprintf(format, args...)}
}

func mismatch(format string, args ...any) error {
	return &engineError{codeMismatch, fmt.Sprintf(format, args...)}
}

func insufficient(format string, args ...any) error {
	return &engineError{codeInsufficient, fmt.Sprintf(format, args...)}
}

func badArgument(format string, args ...any) error {
	return &engineError{codeArgument, fmt.Sprintf(format, args...)}
}
