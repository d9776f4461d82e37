"""Object storage. Everything goes through S3 (see storage/s3.py); there is no local-disk backend."""

from collection.storage.s3 import ObjectInfo, ObjectStore, store_for

__all__ = ["ObjectInfo", "ObjectStore", "store_for"]
