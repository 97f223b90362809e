"""Token buckets of the rate limits when there is no Redis (see the package docstring)."""

from django.db import models


class Bucket(models.Model):
    key = models.CharField(max_length=200, primary_key=True)
    # GCRA's theoretical arrival time, in Unix seconds: the bucket is full once it has passed.
    tat = models.FloatField()

    class Meta:
        db_table = "ratelimit_bucket"

    def __str__(self) -> str:
        return f"{self.key} until {self.tat:.3f}"
