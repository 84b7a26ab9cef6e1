#!/usr/bin/env python3
"""Validates an SBOM with an independent implementation and prints the packages it lists.

    check.py cyclonedx FILE   CycloneDX 1.6 JSON, checked against the published (strict) schema
                              by cyclonedx-python-lib's validator
    check.py spdx FILE        SPDX 2.3 JSON, parsed and validated by spdx-tools

Prints one JSON array of [name, version, purl] (the image itself left out) and exits 0, or
prints the validator's findings and exits 1.
"""
import json
import sys


def cyclonedx(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = open(path, encoding="utf-8").read()
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if errors:
        print(f"CycloneDX 1.6 schema validation failed: {str(errors)[:2000]}")
        sys.exit(1)
    doc = json.loads(text)
    if doc.get("specVersion") != "1.6":
        print(f"specVersion is {doc.get('specVersion')!r}, not 1.6")
        sys.exit(1)
    return [[c["name"], c.get("version", ""), c.get("purl")] for c in doc.get("components", [])]


def spdx(path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    document = parse_file(path)
    messages = validate_full_spdx_document(document)
    if messages:
        for m in messages:
            print(m.validation_message, m.context)
        sys.exit(1)
    if document.creation_info.spdx_version != "SPDX-2.3":
        print(f"spdxVersion is {document.creation_info.spdx_version!r}")
        sys.exit(1)
    described = {
        r.related_spdx_element_id
        for r in document.relationships
        if r.relationship_type.name == "DESCRIBES"
    }
    out = []
    for p in document.packages:
        if p.spdx_id in described:
            continue
        purl = next(
            (r.locator for r in p.external_references if r.reference_type == "purl"), None
        )
        out.append([p.name, p.version or "", purl])
    return out


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    print(json.dumps({"cyclonedx": cyclonedx, "spdx": spdx}[kind](path)))
