"""Object storage. Everything goes through S3 (see storage/s3.py); there is no local-disk backend."""

from collection.storage.s3 import ListedObject, ObjectInfo, ObjectStore, store_for

__all__ = ["ListedObject", "ObjectInfo", "ObjectStore", "store_for"]
