package eventstore

import (
	"encoding/binary"
	"errors"
)

// Key prefixes; see the package documentation for the layout.
const (
	prefixEvent   = "e/"
	prefixStream  = "s/"
	prefixCommand = "c/"
	prefixMeta    = "m/"
)

func eventKey(seq uint64) []byte {
	k := make([]byte, len(prefixEvent)+8)
	copy(k, prefixEvent)
	binary.BigEndian.PutUint64(k[len(prefixEvent):], seq)
	return k
}

func appendStreamKey(dst []byte, stream string, version uint32) []byte {
	dst = append(dst, prefixStream...)
	dst = append(dst, stream...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint32(dst, version)
}

func streamKey(stream string, version uint32) []byte {
	return appendStreamKey(make([]byte, 0, len(prefixStream)+len(stream)+5), stream, version)
}

// parseStreamKey splits an s/ key into its stream name and version.
func parseStreamKey(k []byte) (stream string, version uint32, err error) {
	if len(k) < len(prefixStream)+5 || k[len(k)-5] != 0 {
		return "", 0, errors.New("eventstore: malformed stream key")
	}
	return string(k[len(prefixStream) : len(k)-5]), binary.BigEndian.Uint32(k[len(k)-4:]), nil
}

func commandKey(id string) []byte {
	return append([]byte(prefixCommand), id...)
}

func metaKey(name string) []byte {
	return append([]byte(prefixMeta), name...)
}

// upperBound returns the smallest key greater than every key with the prefix p.
func upperBound(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
