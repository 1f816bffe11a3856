from messaging.models.accounts import Invitation, Membership, Role, Team, User
from messaging.models.apps import ApiKey, App, Integration, IntegrationStatus, KeyScope, Webhook
from messaging.models.apps import ServiceAccount
from messaging.models.appusers import AppUser, Client
from messaging.models.audit import ActorKind, AuditAction, AuditEntry
from messaging.models.inbox import NOTE_MAX_LENGTH, ConversationStatus, Note
from messaging.models.inbound import PlatformEvent, PlatformEventState
from messaging.models.logs import LogEntry
from messaging.models.messages import (
    Delivery,
    DeliveryState,
    Message,
    MessageType,
    Purpose,
)
from messaging.models.menus import Menu
from messaging.models.messages import Role as MessageRole
from messaging.models.templates import TEMPLATE_NAME_MAX_LENGTH, MessageTemplate
from messaging.models.timers import Timer
from messaging.models.webhooks import WebhookAttempt, WebhookEvent, WebhookEventState

__all__ = [
    "ActorKind",
    "AuditAction",
    "AuditEntry",
    "ApiKey",
    "App",
    "AppUser",
    "Client",
    "ConversationStatus",
    "Delivery",
    "DeliveryState",
    "Integration",
    "IntegrationStatus",
    "Invitation",
    "KeyScope",
    "LogEntry",
    "Membership",
    "Menu",
    "Message",
    "NOTE_MAX_LENGTH",
    "Note",
    "MessageRole",
    "MessageTemplate",
    "TEMPLATE_NAME_MAX_LENGTH",
    "MessageType",
    "PlatformEvent",
    "PlatformEventState",
    "Purpose",
    "Role",
    "ServiceAccount",
    "Team",
    "Timer",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookEvent",
    "WebhookEventState",
]
