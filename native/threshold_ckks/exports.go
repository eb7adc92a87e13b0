package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// The C ABI is one entry point: fltc_call(op, request, &response) where the request and
// response are length-prefixed lists of byte strings (u32 count, then u32 length and
// bytes per item). It returns 0 with the results, or an error code with a one-line
// message as the only item. Responses are allocated with malloc; release them with
// fltc_free.

//export fltc_call
func fltc_call(op *C.char, in *C.uchar, inLen C.size_t, out **C.uchar, outLen *C.size_t) C.int {
	// The request is read in place: the caller keeps it alive for the call, and nothing
	// the engine returns or keeps refers to it (results are copied into malloc'd memory).
	request := unsafe.Slice((*byte)(unsafe.Pointer(in)), int(inLen))
	code, result := call(C.GoString(op), request)
	data := packList(result)
	*out = (*C.uchar)(C.CBytes(data))
	*outLen = C.size_t(len(data))
	return C.int(code)
}

//export fltc_free
func fltc_free(p unsafe.Pointer) {
	C.free(p)
}

// call runs one operation, turning errors and panics into a code and a message.
func call(op string, request []byte) (code int, result [][]byte) {
	defer func() {
		if r := recover(); r != nil {
			code, result = codeInternal, [][]byte{[]byte(fmt.Sprintf("%s: internal error: %v", op, r))}
		}
	}()
	args, err := unpackList(request)
	if err == nil {
		result, err = dispatch(op, args)
	}
	if err == nil {
		return 0, result
	}
	code = codeInternal
	var engineErr *engineError
	if errors.As(err, &engineErr) {
		code = engineErr.code
	}
	return code, [][]byte{[]byte(err.Error())}
}

func main() {}
