"""`python -m consent.audit verify|checkpoint|keys`: check the revision history; exit 1 if something is broken.

verify [--schema-name S] [--object-id ID] [--checkpoint FILE] [--trusted-keys FILE]
    every chain (or one), with the audit keys that open with AUDIT_KEY_SECRET, or only those in a JWKS file from `keys`
    (for auditors without the secret); with a checkpoint from `checkpoint`, also what was deleted since.
checkpoint [--schema-name S]   print every chain's latest revision, signed with the audit key: keep it.
keys                           print the public JWKS of the audit keys: keep it.
seal-legacy                    once, after upgrading a database from before sealing: seal the older chains that verify.
"""
import argparse
import json
import sys
from pathlib import Path

from sqlmodel import Session

from consent import integrity, revisions, seal, signing
from consent.settings import ConsentSettings
from kernel.db import existing_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consent.audit")
    parser.add_argument("command", choices=["verify", "checkpoint", "keys", "seal-legacy"])
    parser.add_argument("--schema-name", choices=["Policy", "DataAgreement", "ConsentRecord"])
    parser.add_argument("--object-id")
    parser.add_argument("--checkpoint", type=Path, help="verify: a checkpoint file from `checkpoint`")
    parser.add_argument("--trusted-keys", type=Path, help="verify: a JWKS file from `keys`; only its keys are trusted")
    args = parser.parse_args(argv)
    if args.object_id and not args.schema_name:
        parser.error("--object-id needs --schema-name")
    settings = ConsentSettings()
    seal.use_key_secret(settings.audit_key_secret)
    engine = existing_engine(settings, "revision")  # the audited revision chains
    try:
        with Session(engine) as session:
            if args.command == "keys":
                print(json.dumps(seal.public_keys(session), indent=2))
                return 0
            if args.command == "seal-legacy":
                integrity.seal_legacy(session, revisions.audit_key(session))
                session.commit()
                print("sealed the older chains that verify; see the log for those left unsealed")
                return 0
            if args.command == "checkpoint":
                signed = integrity.checkpoint(session, revisions.audit_key(session), schema_name=args.schema_name)
                session.commit()
                print(json.dumps(signed, indent=2, ensure_ascii=False))
                return 0
            return _verify(session, args, settings)
    finally:
        engine.dispose()


def _verify(session: Session, args, settings: ConsentSettings) -> int:
    keys = seal.keys_from_jwks(json.loads(args.trusted_keys.read_text())) if args.trusted_keys else seal.trusted_keys(session)
    expected = None
    if args.checkpoint:
        try:
            expected = integrity.open_checkpoint(json.loads(args.checkpoint.read_text()), keys)
        except (integrity.CheckpointInvalid, ValueError) as exc:
            print(f"checkpoint refused: {exc}", file=sys.stderr)
            return 2
    # Delegate signatures are checked only where this service's key is at hand; never create one here.
    service_key = signing.service_key(settings.signing_key_path) if settings.signing_key_path.exists() else None
    if args.object_id:
        reports = [integrity.verify_object(session, schema_name=args.schema_name, object_id=args.object_id, keys=keys,
                                           service_key=service_key, checkpoint=expected)]
    else:
        reports = integrity.verify_all(session, schema_name=args.schema_name, keys=keys, service_key=service_key, checkpoint=expected)
    broken = [r.as_wire() for r in reports if not r.valid]
    print(json.dumps({"valid": not broken, "checkedChains": len(reports), "broken": broken}, indent=2))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
