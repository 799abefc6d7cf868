"""Local stand-ins and tooling: the SMS Partner stand-in, moto server and DynamoDB Local, resources created
from template.yaml, and a poller that behaves like Lambda's SQS event source mapping."""
