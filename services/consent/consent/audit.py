"""`python -m consent.audit verify [--schema-name S] [--object-id ID]`: check revision chains; exit 1 if one is broken."""
import argparse
import json
import sys

from sqlmodel import Session

from consent import revisions, signing
from consent.settings import ConsentSettings
from kernel.db import make_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consent.audit")
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("--schema-name", choices=["Policy", "DataAgreement", "ConsentRecord"])
    parser.add_argument("--object-id")
    args = parser.parse_args(argv)
    settings = ConsentSettings()
    engine = make_engine(settings)
    # Delegate signatures are checked only where this service's key is at hand; never create one here.
    service_key = signing.service_key(settings.signing_key_path) if settings.signing_key_path.exists() else None
    with Session(engine) as session:
        if args.object_id:
            if not args.schema_name:
                parser.error("--object-id needs --schema-name")
            reports = [revisions.verify_object(session, schema_name=args.schema_name, object_id=args.object_id, service_key=service_key)]
        else:
            reports = revisions.verify_all(session, schema_name=args.schema_name, service_key=service_key)
    engine.dispose()
    broken = [r.as_wire() for r in reports if not r.valid]
    print(json.dumps({"valid": not broken, "checkedChains": len(reports), "broken": broken}, indent=2))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
