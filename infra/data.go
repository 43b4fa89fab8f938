package infra

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Data settings: the table's key schema and the queue's redrive.
const (
	TableHashKey       = "pk"
	TableRangeKey      = "sk"
	MaxReceiveCount    = 5
	QueueVisibility    = 60                // seconds a received message stays hidden
	DLQRetentionPeriod = 14 * 24 * 60 * 60 // seconds: the SQS maximum
)

// TableActions are what the service may do on its table (items, not schema).
var TableActions = []string{
	"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
	"dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
	"dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem",
}

// QueueActions are what the service may do on its queue.
var QueueActions = []string{
	"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
	"sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage",
}

// Data is the service's state: a DynamoDB table and an SQS queue with a
// dead-letter queue (the stores the service's tests run against locally with
// DynamoDB Local and ElasticMQ).
type Data struct {
	pulumi.ResourceState

	TableName pulumi.StringOutput
	TableArn  pulumi.StringOutput
	QueueName pulumi.StringOutput
	QueueURL  pulumi.StringOutput
	QueueArn  pulumi.StringOutput
	DLQArn    pulumi.StringOutput
}

// stateful are the options of a resource that holds the service's data
// (items, messages, logs): no stack operation deletes it (protect), and a
// resource dropped from the program is left in the account (retain).
var stateful = pulumi.Composite(pulumi.Protect(true), pulumi.RetainOnDelete(true))

// NewData creates the table (on demand, point-in-time recovery) and the
// queues, all of them protected and retained.
func NewData(ctx *pulumi.Context, name string, cfg contract.Config, opts ...pulumi.ResourceOption) (*Data, error) {
	d := &Data{}
	if err := ctx.RegisterComponentResource("slipway:infra:Data", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)

	table, err := dynamodb.NewTable(ctx, "table", &dynamodb.TableArgs{
		Name:        pulumi.String(cfg.Names.Table),
		BillingMode: pulumi.String("PAY_PER_REQUEST"),
		HashKey:     pulumi.String(TableHashKey),
		RangeKey:    pulumi.String(TableRangeKey),
		Attributes: dynamodb.TableAttributeArray{
			&dynamodb.TableAttributeArgs{Name: pulumi.String(TableHashKey), Type: pulumi.String("S")},
			&dynamodb.TableAttributeArgs{Name: pulumi.String(TableRangeKey), Type: pulumi.String("S")},
		},
		PointInTimeRecovery:       &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		DeletionProtectionEnabled: pulumi.Bool(true),
		ServerSideEncryption:      &dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)},
		Tags:                      tags(cfg),
	}, parent, stateful)
	if err != nil {
		return nil, err
	}

	dlq, err := sqs.NewQueue(ctx, "queue-dlq", &sqs.QueueArgs{
		Name:                    pulumi.String(cfg.Names.DeadLetterQueue),
		MessageRetentionSeconds: pulumi.Int(DLQRetentionPeriod),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    tags(cfg),
	}, parent, stateful)
	if err != nil {
		return nil, err
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     int    `json:"maxReceiveCount"`
		}{arn, MaxReceiveCount})
		return string(b), err
	}).(pulumi.StringOutput)
	queue, err := sqs.NewQueue(ctx, "queue", &sqs.QueueArgs{
		Name:                     pulumi.String(cfg.Names.Queue),
		VisibilityTimeoutSeconds: pulumi.Int(QueueVisibility),
		RedrivePolicy:            redrive,
		SqsManagedSseEnabled:     pulumi.Bool(true),
		Tags:                     tags(cfg),
	}, parent, stateful)
	if err != nil {
		return nil, err
	}

	d.TableName, d.TableArn = table.Name, table.Arn
	d.QueueName, d.QueueURL, d.QueueArn, d.DLQArn = queue.Name, queue.Url, queue.Arn, dlq.Arn
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"tableName": table.Name,
		"queueUrl":  queue.Url,
		"dlqUrl":    dlq.Url,
	})
}
