"""Oracle for the GVariant differential test: real GLib (python3-gi) judges cases read as JSON on stdin.

Each case is {"type", "text"?, "hex"?, "infer"?}. For "text" GLib parses it with the type and reports the
serialised bytes and its own printing; for "hex" GLib loads the bytes as untrusted data and reports
whether they are in normal form and, if so, how it prints them; "infer" is parsed without a
type and the inferred type string (or the error) is reported.
"""
import json
import sys

from gi.repository import GLib

out = []
for case in json.load(sys.stdin):
    vt = GLib.VariantType.new(case["type"])
    res = {}
    if "text" in case:
        try:
            v = GLib.Variant.parse(vt, case["text"], None, None)
            res["hex"] = v.get_data_as_bytes().get_data().hex()
            res["print"] = v.print_(True)
        except GLib.Error as e:
            res["error"] = e.message
    if "infer" in case:
        try:
            res["inferred"] = GLib.Variant.parse(None, case["infer"], None, None).get_type_string()
        except GLib.Error as e:
            res["infer_error"] = e.message
    if "hex" in case:
        w = GLib.Variant.new_from_bytes(vt, GLib.Bytes.new(bytes.fromhex(case["hex"])), False)
        res["normal"] = bool(w.is_normal_form())
        if res["normal"]:
            res["bytes_print"] = w.print_(True)
    out.append(res)
json.dump(out, sys.stdout)
