package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
)

// dispatch maps an operation name and its arguments to the engine.
func dispatch(op string, args [][]byte) ([][]byte, error) {
	switch op {
	case "params":
		return one(paramsInfo())
	case "generate_key_shares":
		if err := arity(op, args, 4); err != nil {
			return nil, err
		}
		c, err := committeeArgs(args[1:4])
		if err != nil {
			return nil, err
		}
		keyShare, shamir, err := GenerateKeyShares(args[0], c)
		if err != nil {
			return nil, err
		}
		return append([][]byte{keyShare}, shamir...), nil
	case "combine_shamir_shares":
		if len(args) < 2 {
			return nil, badArgument("%s: expected a seed and a member", op)
		}
		own, err := u16Arg(args[1])
		if err != nil {
			return nil, err
		}
		return one(CombineShamirShares(args[0], own, args[2:]))
	case "aggregate_public_key":
		if len(args) < 1 {
			return nil, badArgument("%s: expected a seed", op)
		}
		return one(AggregatePublicKey(args[0], args[1:]))
	case "encrypt":
		if err := arity(op, args, 2); err != nil {
			return nil, err
		}
		if len(args[1])%8 != 0 {
			return nil, badArgument("%s: values are not float64", op)
		}
		return one(Encrypt(args[0], float64s(args[1])))
	case "sum":
		return one(Sum(args))
	case "vector_tree":
		if err := arity(op, args, 1); err != nil {
			return nil, err
		}
		return VectorTree(args[0])
	case "decryption_share":
		if err := arity(op, args, 4); err != nil {
			return nil, err
		}
		active, err := u16s(op, args[3])
		if err != nil {
			return nil, err
		}
		return one(DecryptionShare(args[0], args[1], args[2], active))
	case "reference_bodies":
		if len(args) < 2 {
			return nil, badArgument("%s: expected a reference and its scale", op)
		}
		reference, scale, err := referenceArgs(op, args[0], args[1])
		if err != nil {
			return nil, err
		}
		return u64Items(ReferenceBodies(reference, scale, args[2:]))
	case "scored_decryption_share":
		if len(args) < 7 {
			return nil, badArgument("%s: expected a secret, a key, an aggregate, members, a reference, its scale and a body total", op)
		}
		active, err := u16s(op, args[3])
		if err != nil {
			return nil, err
		}
		reference, scale, err := referenceArgs(op, args[4], args[5])
		if err != nil {
			return nil, err
		}
		if len(args[6]) != 8 {
			return nil, badArgument("%s: the body total is not a u64", op)
		}
		share, shares, err := ScoredDecryptionShare(args[0], args[1], args[2], active, reference, scale, binary.LittleEndian.Uint64(args[6]), args[7:])
		if err != nil {
			return nil, err
		}
		items, _ := u64Items(shares, nil)
		return append([][]byte{share}, items...), nil
	case "combine":
		if len(args) < 2 {
			return nil, badArgument("%s: expected a ciphertext and a share count", op)
		}
		minShares, err := u16Arg(args[1])
		if err != nil {
			return nil, err
		}
		values, err := Combine(args[0], args[2:], int(minShares))
		if err != nil {
			return nil, err
		}
		data := make([]byte, 8*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(v))
		}
		return [][]byte{data}, nil
	}
	return nil, badArgument("unknown operation %q", op)
}

func float64s(data []byte) []float64 {
	values := make([]float64, len(data)/8)
	for i := range values {
		values[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return values
}

func u16s(op string, data []byte) ([]uint16, error) {
	if len(data)%2 != 0 {
		return nil, badArgument("%s: members are not u16", op)
	}
	values := make([]uint16, len(data)/2)
	for i := range values {
		values[i] = binary.LittleEndian.Uint16(data[2*i:])
	}
	return values, nil
}

// referenceArgs reads a reference (float64 values) and its encoding scale (one float64).
func referenceArgs(op string, reference, scale []byte) ([]float64, float64, error) {
	if len(reference)%8 != 0 || len(reference) == 0 || len(scale) != 8 {
		return nil, 0, badArgument("%s: the reference and its scale are not float64", op)
	}
	return float64s(reference), math.Float64frombits(binary.LittleEndian.Uint64(scale)), nil
}

// u64Items returns each value as its own little-endian u64 item.
func u64Items(values []uint64, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	items := make([][]byte, len(values))
	for i, v := range values {
		items[i] = binary.LittleEndian.AppendUint64(nil, v)
	}
	return items, nil
}

func one(data []byte, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	return [][]byte{data}, nil
}

func arity(op string, args [][]byte, n int) error {
	if len(args) != n {
		return badArgument("%s: expected %d arguments, got %d", op, n, len(args))
	}
	return nil
}

func u16Arg(arg []byte) (uint16, error) {
	v, err := strconv.ParseUint(string(arg), 10, 16)
	if err != nil {
		return 0, badArgument("%q is not an integer in 0..65535", arg)
	}
	return uint16(v), nil
}

func committeeArgs(args [][]byte) (c committee, err error) {
	if c.member, err = u16Arg(args[0]); err != nil {
		return c, err
	}
	if c.n, err = u16Arg(args[1]); err != nil {
		return c, err
	}
	c.t, err = u16Arg(args[2])
	return c, err
}

// paramsInfo describes the fixed parameter set for the bridge and the benchmarks.
func paramsInfo() ([]byte, error) {
	prm, err := Params()
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"name":               ParameterSetName,
		"log_n":              prm.LogN(),
		"ring":               prm.RingType().String(),
		"slots":              prm.MaxSlots(),
		"lanes":              Lanes,
		"q":                  strconv.FormatUint(prm.Q()[0], 10),
		"log_qp":             prm.LogQP(),
		"max_log_qp_128":     maxLogQP128,
		"log_scale":          LogScale,
		"smudging_log_sigma": SmudgingLogSigma,
		"max_abs_value":      MaxAbsValue,
		"max_members":        maxMembers,
	})
}

// packList and unpackList are the framing of requests and responses.
func packList(items [][]byte) []byte {
	size := 4
	for _, item := range items {
		size += 4 + len(item)
	}
	out := make([]byte, 0, size)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(items)))
	for _, item := range items {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(item)))
		out = append(out, item...)
	}
	return out
}

func unpackList(data []byte) ([][]byte, error) {
	if len(data) < 4 {
		return nil, malformed("request: truncated")
	}
	count := binary.LittleEndian.Uint32(data)
	data = data[4:]
	items := make([][]byte, 0, min(count, 1<<16))
	for i := uint32(0); i < count; i++ {
		if len(data) < 4 {
			return nil, malformed("request: truncated")
		}
		n := binary.LittleEndian.Uint32(data)
		if uint64(n) > uint64(len(data)-4) {
			return nil, malformed("request: truncated")
		}
		items = append(items, data[4:4+n])
		data = data[4+n:]
	}
	if len(data) != 0 {
		return nil, malformed("request: trailing bytes")
	}
	return items, nil
}
