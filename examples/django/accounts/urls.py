from django.urls import path

from . import views

urlpatterns = [
    path("forgot/", views.forgot_password, name="forgot_password"),
    path("pwreset-webhook/", views.pwreset_webhook, name="pwreset_webhook"),
]
